"""An outside scanner (sslyze) on a box's 587 (STARTTLS), 993 (direct TLS) and 25: what each port really accepts, as data.

tests/image/test_tls_profile.py judges it. The owner's new box is scanned by
its own side job (tests/image/owner_job.py) once it is converged: the box is
otherwise idle until the end of the session, and the scans ran about 150 s
on the session's VM, in line with every other VM test. The scans run one
after another: all three at once took as long (158 s against 151 s), the
VM's CPU being the bottleneck under emulation.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from february.vm.config import VmConfig

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
scanner = Scanner(per_server_concurrent_connections_limit=concurrency, concurrent_server_scans_limit=1)
scanner.queue_scans([ServerScanRequest(server_location=ServerNetworkLocation("127.0.0.1", port),
                                       network_configuration=network, scan_commands=commands)])
(result,) = list(scanner.get_results())
assert result.scan_status == ServerScanStatusEnum.COMPLETED, result.connectivity_error_trace
out = {"accepted": {}, "errors": [], "curves": None, "ecdh": None, "mozilla": {}}
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
    """One bounded sslyze scan of 127.0.0.1:port, in its own process; what it found, as data (``failure`` if it did not finish)."""
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
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return {"failure": "sslyze did not finish within 600 s"}
    if done.returncode != 0:
        return {"failure": done.stderr[-3000:]}
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def scan_box(config: VmConfig) -> dict[str, Any]:
    """The three scans of a local VM's forwarded ports, and the seconds they took."""
    began = time.monotonic()
    return {
        "submission": scan(config.submission_port, starttls=True, profile=True),
        "imaps": scan(config.imaps_port, starttls=False, profile=True),
        "smtp": scan(config.smtp_port, starttls=True, profile=False),
        "seconds": time.monotonic() - began,
    }
