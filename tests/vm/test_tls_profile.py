"""An outside scanner (sslyze) on 587 (STARTTLS), 993 (direct TLS) and 25: what each port really accepts.

587 and 993 follow Mozilla's intermediate profile (tls.profile, the
default): TLS 1.2 and 1.3 only, TLS 1.2 suites ECDHE with AES-GCM or
ChaCha20-Poly1305, groups X25519, P-256 and P-384. Port 25 stays
opportunistic for other mail servers but offers no anonymous suite.
The certificate is self-signed: sslyze's certificate findings are ignored.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.vm.mailvm import MailVm

sslyze = pytest.importorskip("sslyze")

ALLOWED_TLS12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
FORBIDDEN = re.compile(r"CBC|CAMELLIA|ARIA|CCM|^TLS_DHE_|_SHA$")  # _SHA$: the SHA-1 (CBC) suites
ALLOWED_CURVES = {"X25519", "prime256v1", "secp384r1"}
VERSIONS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}
# The submission port counts concurrent sessions per client (limits.concurrent_connections,
# 10 by default): the scanner stays well below.
CONCURRENCY = 4


def scan(port: int, starttls: bool, commands: set[Any]) -> Any:
    """One bounded sslyze scan of 127.0.0.1:port; the completed ServerScanResult."""
    from sslyze import (
        ProtocolWithOpportunisticTlsEnum,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )

    network = ServerNetworkConfiguration(
        tls_server_name_indication="mail.example.test",
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum.SMTP if starttls else None,
        smtp_ehlo_hostname="client.example.net",
        network_timeout=20,
        network_max_retries=2,
    )
    scanner = Scanner(per_server_concurrent_connections_limit=CONCURRENCY, concurrent_server_scans_limit=1)
    scanner.queue_scans(
        [ServerScanRequest(server_location=ServerNetworkLocation("127.0.0.1", port), network_configuration=network, scan_commands=commands)]
    )
    (result,) = list(scanner.get_results())
    assert result.scan_status == ServerScanStatusEnum.COMPLETED, result.connectivity_error_trace
    return result


def accepted(result: Any) -> dict[str, set[str]]:
    """TLS version to the names (IANA) of the suites the server accepted."""
    found: dict[str, set[str]] = {}
    for field, version in VERSIONS.items():
        attempt = getattr(result.scan_result, field)
        if attempt.result is None:
            continue
        assert attempt.error_reason is None, (field, attempt.error_trace)
        found[version] = {suite.cipher_suite.name for suite in attempt.result.accepted_cipher_suites}
    return found


def profile_commands() -> set[Any]:
    from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER

    return set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)


@pytest.fixture(scope="module", params=["submission", "imaps"])
def profile_scan(request: pytest.FixtureRequest, mailvm: MailVm) -> Any:
    port = getattr(mailvm.config, f"{request.param}_port")
    return scan(port, starttls=request.param == "submission", commands=profile_commands())


def test_only_tls_1_2_and_1_3_are_accepted(profile_scan: Any) -> None:
    versions = {version for version, suites in accepted(profile_scan).items() if suites}
    assert versions == {"TLSv1.2", "TLSv1.3"}


def test_tls_1_2_suites_are_the_profiles_only(profile_scan: Any) -> None:
    suites = accepted(profile_scan)["TLSv1.2"]
    assert suites and suites <= ALLOWED_TLS12, suites - ALLOWED_TLS12
    for name in suites:
        assert not FORBIDDEN.search(name), name


def test_only_x25519_p256_and_p384_are_accepted(profile_scan: Any) -> None:
    curves = profile_scan.scan_result.elliptic_curves.result
    assert curves is not None and curves.supports_ecdh_key_exchange
    names = {curve.name for curve in curves.supported_curves or []}
    assert names and names <= ALLOWED_CURVES, names - ALLOWED_CURVES


def test_sslyze_finds_the_mozilla_intermediate_profile_apart_from_the_certificate(profile_scan: Any) -> None:
    """sslyze's own Mozilla checker; its certificate findings (self-signed, its life) do not count here."""
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    try:
        check_server_against_tls_configuration(profile_scan, MozillaTlsConfiguration.get(TlsConfigurationEnum.INTERMEDIATE))
    except ServerNotCompliantWithTlsConfiguration as error:
        issues = {key: value for key, value in error.issues.items() if not key.startswith("certificate") and key not in ("maximum_certificate_lifespan", "rsa_key_size")}
        assert issues == {}


def test_port_25_offers_no_anonymous_suite(mailvm: MailVm) -> None:
    from sslyze import ScanCommand

    commands = {ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES, ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.TLS_1_3_CIPHER_SUITES}
    found = accepted(scan(mailvm.config.smtp_port, starttls=True, commands=commands))
    assert found["TLSv1.2"], "port 25 accepts no TLS 1.2 suite at all"
    assert not found["TLSv1.0"] and not found["TLSv1.1"]
    for version, suites in found.items():
        anonymous = {name for name in suites if "_anon_" in name or "NULL" in name}
        assert not anonymous, (version, anonymous)
