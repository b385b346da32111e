"""Per-client limits on port 25 (Postfix anvil) and the delay after a failed login (Dovecot), as rendered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.test_postfix_templates import postconf, write_config
from tests.unit.test_tls_profile_config import doveconf, needs_doveconf, needs_postconf


@needs_postconf
def test_limits_are_the_settings(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = dict(sample, limits={"connections_per_minute": 7, "messages_per_minute": 8, "concurrent_connections": 3})
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["smtpd_client_connection_rate_limit"] == "7"
    assert rendered["smtpd_client_message_rate_limit"] == "8"
    assert rendered["smtpd_client_connection_count_limit"] == "3"
    # mynetworks stays exempt: the exceptions are Postfix's default.
    assert "smtpd_client_event_limit_exceptions" not in rendered


@needs_doveconf
def test_dovecot_delays_a_failed_login_as_set(tmp_path: Path, sample: dict[str, Any]) -> None:
    assert doveconf(tmp_path, dict(sample, limits={"auth_failure_delay": 3}))["auth_failure_delay"] == "3 secs"
