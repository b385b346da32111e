"""What each port really accepts: an outside scanner (sslyze) on 587 (STARTTLS) and 993 (direct TLS), handshakes on 25.

The scans run one after another (two at once take as long: the VM's CPU is the bottleneck under
emulation). A scan lists the suites one handshake each, about 150 per TLS version, refused ones
included: port 25's claims need five handshakes of Python's ssl instead.

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

import json
import re
import ssl
import subprocess
import sys
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
ALLOWED_CURVES = {"X25519", "prime256v1", "secp256r1", "secp384r1"}  # prime256v1 and secp256r1: one curve, P-256
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


# Run in a process of its own: pyinfra, imported by the VM tests, patches
# threads with gevent, and sslyze's worker threads then never finish.
SCANNER = r"""
import json, sys
from sslyze import (ProtocolWithOpportunisticTlsEnum, Scanner, ServerNetworkConfiguration,
                    ServerNetworkLocation, ServerScanRequest, ServerScanStatusEnum, ScanCommand)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER, MozillaTlsConfiguration, ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum, check_server_against_tls_configuration)
port, starttls, concurrency, profile = int(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4] == "1"
versions = json.loads(sys.argv[5])
network = ServerNetworkConfiguration(
    tls_server_name_indication="mail.example.test",
    tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum.SMTP if starttls else None,
    smtp_ehlo_hostname="client.example.net" if starttls else None, network_timeout=20, network_max_retries=2)
if profile:
    commands = set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)
else:
    commands = {ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES,
                ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.TLS_1_3_CIPHER_SUITES}
# A version the server refuses when offered every suite at once is refused with each: one handshake
# says so for SSL 3.0, TLS 1.0 and 1.1 (what testssl.sh does), instead of one per suite, about 450 in
# all (110 s of the VM's CPU per port). Each suite is then recorded as refused, the way sslyze's own
# job would have; a version that accepts the probe is listed suite by suite as before.
from sslyze.plugins.openssl_cipher_suites import implementation as suites
from sslyze.plugins.openssl_cipher_suites._test_cipher_suite import CipherSuiteRejectedByServer, connect_with_cipher_suite
from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuite, CipherSuitesRepository
from sslyze.plugins.plugin_base import ScanJob
from sslyze.server_connectivity import TlsVersionEnum
jobs_per_suite = suites._CipherSuitesScanImplementation.scan_jobs_for_scan_command.__func__
PROBED = {TlsVersionEnum.SSL_3_0, TlsVersionEnum.TLS_1_0, TlsVersionEnum.TLS_1_1}
PROBES = []
def scan_jobs(cls, server_info, extra_arguments=None):
    version = cls._tls_version
    if version in PROBED:
        every = CipherSuite(name="every suite", is_anonymous=False, key_size=0, openssl_name="ALL:COMPLEMENTOFALL")
        probe = connect_with_cipher_suite(server_info, version, every)
        PROBES.append([version.name, type(probe).__name__])
        if isinstance(probe, CipherSuiteRejectedByServer):
            reason = f"refused when offered every suite: {probe.error_message}"
            return [ScanJob(function_to_call=CipherSuiteRejectedByServer, function_arguments=[suite, reason])
                    for suite in CipherSuitesRepository.get_all_cipher_suites(version)]
    return jobs_per_suite(cls, server_info, extra_arguments)
suites._CipherSuitesScanImplementation.scan_jobs_for_scan_command = classmethod(scan_jobs)
scanner = Scanner(per_server_concurrent_connections_limit=concurrency, concurrent_server_scans_limit=1)
scanner.queue_scans([ServerScanRequest(server_location=ServerNetworkLocation("127.0.0.1", port),
                                       network_configuration=network, scan_commands=commands)])
(result,) = list(scanner.get_results())
assert result.scan_status == ServerScanStatusEnum.COMPLETED, result.connectivity_error_trace
out = {"accepted": {}, "errors": [], "curves": None, "ecdh": None, "mozilla": {}, "probes": sorted(PROBES)}
for field, version in versions.items():
    attempt = getattr(result.scan_result, field)
    if attempt.result is None:
        continue
    if attempt.error_reason is not None:
        out["errors"].append([field, str(attempt.error_trace)])
        continue
    out["accepted"][version] = sorted(s.cipher_suite.name for s in attempt.result.accepted_cipher_suites)
curves = result.scan_result.elliptic_curves.result
if curves is not None:
    out["ecdh"] = curves.supports_ecdh_key_exchange
    out["curves"] = sorted(c.name for c in curves.supported_curves or [])
if profile:
    try:
        check_server_against_tls_configuration(result, MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE))
    except ServerNotCompliantWithTlsConfiguration as error:
        out["mozilla"] = {key: str(value) for key, value in error.issues.items()}
print(json.dumps(out))
"""


def scan(port: int, starttls: bool, profile: bool) -> dict[str, Any]:
    """One bounded sslyze scan of 127.0.0.1:port, in its own process; what it found, as data."""
    argv = [
        sys.executable,
        "-c",
        SCANNER,
        str(port),
        "1" if starttls else "0",
        str(CONCURRENCY),
        "1" if profile else "0",
        json.dumps(VERSIONS),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["errors"] == [], found["errors"]
    return found


@pytest.fixture(scope="module", params=["submission", "imaps"])
def profile_scan(request: pytest.FixtureRequest, mailvm: MailVm) -> Any:
    port = getattr(mailvm.config, f"{request.param}_port")
    return scan(port, starttls=request.param == "submission", profile=True)


def test_only_tls_1_2_and_1_3_are_accepted(profile_scan: Any) -> None:
    versions = {version for version, suites in profile_scan["accepted"].items() if suites}
    assert versions == {"TLSv1.2", "TLSv1.3"}
    # SSL 3.0, TLS 1.0 and 1.1 each refused one handshake that offered every suite.
    refused = "CipherSuiteRejectedByServer"
    assert profile_scan["probes"] == [["SSL_3_0", refused], ["TLS_1_0", refused], ["TLS_1_1", refused]]


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


def starttls_on_25(mailvm: MailVm, version: ssl.TLSVersion, ciphers: str) -> str | None:
    """The suite port 25 agrees to for a client offering only ``version`` and ``ciphers``; None if it refuses the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_3:
        context.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    with mailvm.smtp() as client:
        client.ehlo()
        assert client.has_extn("starttls"), "port 25 offers no STARTTLS"
        try:
            client.starttls(context=context)
        except ssl.SSLError:
            return None
        cipher = client.sock.cipher()
        assert cipher is not None
        return cipher[0]


def test_port_25_offers_no_anonymous_suite_and_only_tls_1_2_and_1_3(mailvm: MailVm) -> None:
    """Port 25 as another mail server meets it: one handshake per question, each offering everything
    the question asks about (a version refused with every suite on offer is refused with any)."""
    assert starttls_on_25(mailvm, ssl.TLSVersion.TLSv1_2, "ALL") is not None
    assert starttls_on_25(mailvm, ssl.TLSVersion.TLSv1_3, "ALL") is not None
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        assert starttls_on_25(mailvm, version, "ALL:COMPLEMENTOFALL") is None, version
    # Anonymous (no certificate) and NULL (no encryption) suites exist up to TLS 1.2 only.
    assert starttls_on_25(mailvm, ssl.TLSVersion.TLSv1_2, "aNULL:eNULL") is None
