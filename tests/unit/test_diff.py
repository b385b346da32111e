"""`february diff`'s reading of pyinfra's dry run: its log (diffs, UFW rules) and its JSON plan."""

from __future__ import annotations

import json

from february.diff import parse
from pyinfra_deploys.roles.generations import RECORD_OPERATION
from pyinfra_deploys.stamp import STAMP_OPERATION

HOST = "february-vm"
LOG = f"""--> Preparing operation files...
    Loading: deploy.py
    [{HOST}] Will modify /etc/postfix/main.cf
      @@ -143,3 +143,3 @@
      - smtpd_milters = inet:127.0.0.1:11332
      + smtpd_milters = inet:127.0.0.1:6379
    \n    [{HOST}] Will modify /etc/dovecot/users (secret content not shown)
    [{HOST}] Will add ufw rule: allow proto tcp from any to any port 80
    [other-host] Will modify /etc/hostname
      + other
    [{HOST}] Ready: deploy.py
"""


def op(name: str, change: list[str], maybe: list[str] | None = None) -> dict[str, object]:
    return {"name": name, "hosts_with_change": change, "hosts_with_conditional_change": maybe or []}


def test_changes_diffs_and_the_services_the_changed_files_need() -> None:
    plan = {
        "plan": [
            op("February base | Set the host name", []),
            op("February Postfix | Place /etc/postfix/main.cf", [HOST]),
            op("February Dovecot | Place /etc/dovecot/users (secret)", [HOST]),
            op("February Postfix | Reload Postfix for its new configuration", [], [HOST]),
            op("February Rspamd | Restart Rspamd for its new configuration", [], [HOST]),
            op(STAMP_OPERATION, [HOST]),
            op(RECORD_OPERATION, [HOST]),
        ]
    }
    found = parse(json.dumps(plan), LOG, HOST)
    assert found.changes == [
        "February Postfix | Place /etc/postfix/main.cf",
        "February Dovecot | Place /etc/dovecot/users (secret)",
    ]
    assert found.diff == [
        f"[{HOST}] Will modify /etc/postfix/main.cf",
        "  @@ -143,3 +143,3 @@",
        "  - smtpd_milters = inet:127.0.0.1:11332",
        "  + smtpd_milters = inet:127.0.0.1:6379",
        f"[{HOST}] Will modify /etc/dovecot/users (secret content not shown)",
        f"[{HOST}] Will add ufw rule: allow proto tcp from any to any port 80",
    ]
    # From the changed files, by the switch's table: Rspamd's files did not change.
    assert found.services == ["postfix reload", "systemctl restart dovecot"]


def test_only_bookkeeping_is_no_change() -> None:
    plan = {"plan": [op(STAMP_OPERATION, [HOST]), op(RECORD_OPERATION, [HOST]), op("February base | Set the host name", [])]}
    found = parse(json.dumps(plan), "", HOST)
    assert (found.changes, found.services, found.diff) == ([], [], [])
