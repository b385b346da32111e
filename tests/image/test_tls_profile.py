"""An outside scanner (sslyze) on 587 (STARTTLS), 993 (direct TLS) and 25 of the owner's new box: what each port really accepts.

The box is the one the owner flashed, booted and converged (tests/image/owner_job.py),
built by the same deploy as the session's VM; its side job scans it (tests/tls_scan.py)
once it is converged, while the VM tests run, and this module judges what it found.

587 and 993 follow Mozilla's intermediate profile (tls.profile, the
default): TLS 1.2 and 1.3 only, TLS 1.2 suites ECDHE with AES-GCM or
ChaCha20-Poly1305, groups X25519, P-256 and P-384. Port 25 stays
opportunistic for other mail servers but offers no anonymous suite. TLS 1.0
and 1.1 are refused on all three, 1.2 and 1.3 accepted (the seed's check 5).
The certificate is the world's ACME server's (pebble, a CA no trust store
holds): of sslyze's certificate findings only the trust path is ignored (its
life, key and signature are checked).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.image.conftest import OWNER

pytest.importorskip("sslyze")

ALLOWED_TLS12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
FORBIDDEN = re.compile(r"CBC|CAMELLIA|ARIA|CCM|^TLS_DHE_|_SHA$")  # _SHA$: the SHA-1 (CBC) suites
ALLOWED_CURVES = {"X25519", "prime256v1", "secp256r1", "secp384r1"}  # prime256v1 and secp256r1: one curve, P-256


@pytest.fixture(scope="module")
def owner_scans() -> dict[str, Any]:
    """The owner's box's side job's scans, once it has ended."""
    OWNER.start()  # a no-op when it started while the VM tests ran
    scans: dict[str, Any] = OWNER.wait()["tls"]
    return scans


def found(scans: dict[str, Any], port: str) -> dict[str, Any]:
    result: dict[str, Any] = scans[port]
    assert "failure" not in result, result.get("failure")
    assert result["errors"] == [], result["errors"]
    return result


@pytest.fixture(scope="module", params=["submission", "imaps"])
def profile_scan(request: pytest.FixtureRequest, owner_scans: dict[str, Any]) -> Any:
    return found(owner_scans, request.param)


def test_only_tls_1_2_and_1_3_are_accepted(profile_scan: Any) -> None:
    versions = {version for version, suites in profile_scan["accepted"].items() if suites}
    assert versions == {"TLSv1.2", "TLSv1.3"}


def test_tls_1_2_suites_are_the_profiles_only(profile_scan: Any) -> None:
    suites = set(profile_scan["accepted"]["TLSv1.2"])
    assert suites and suites <= ALLOWED_TLS12, suites - ALLOWED_TLS12
    for name in suites:
        assert not FORBIDDEN.search(name), name


def test_only_x25519_p256_and_p384_are_accepted(profile_scan: Any) -> None:
    assert profile_scan["ecdh"]
    names = set(profile_scan["curves"] or [])
    assert names and names <= ALLOWED_CURVES, names - ALLOWED_CURVES


def test_sslyze_finds_the_mozilla_intermediate_profile_apart_from_trust_in_a_test_cas_certificate(
    profile_scan: Any,
) -> None:
    """sslyze's own Mozilla checker, certificate findings included (its life, key, signature); only
    the path validation of pebble's certificate, which no public CA signed, does not count."""
    issues = {key: value for key, value in profile_scan["mozilla"].items() if key != "certificate_path_validation"}
    assert issues == {}


def test_port_25_offers_no_anonymous_suite(owner_scans: dict[str, Any]) -> None:
    accepted = found(owner_scans, "smtp")["accepted"]
    assert accepted["TLSv1.2"], "port 25 accepts no TLS 1.2 suite at all"
    assert accepted["TLSv1.3"], "port 25 accepts no TLS 1.3 suite at all"
    assert not accepted["TLSv1.0"] and not accepted["TLSv1.1"]
    for version, suites in accepted.items():
        anonymous = {name for name in suites if "_anon_" in name or "NULL" in name}
        assert not anonymous, (version, anonymous)
