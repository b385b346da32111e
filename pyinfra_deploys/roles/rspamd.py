"""Rspamd: the milter on 127.0.0.1:11332 (or a unix socket in Postfix's chroot) and DKIM signing with keys made on the host."""

from __future__ import annotations

import shlex
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import absent, exists, folder, place, seed
from pyinfra_deploys.service import enabled_and_running, restart_on_change
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.stamp import manage_path, manage_service

# Modules that reach the internet (DNS blocklists, hash servers, remote
# maps); turned off when the settings say the host is offline.
ONLINE_MODULES = (
    "rbl",
    "fuzzy_check",
    "asn",
    "emails",
    "phishing",
    "url_redirector",
    "dcc",
    "hfilter",
    "mime_types",
    "whitelist",
    "mid",
)

CHECKS = ["rspamadm configtest -q"]  # before every restart, and before a generation switch restarts


# Multimap rules whose maps are fetched from maps.rspamd.com; offline they
# read an empty local map instead (turning multimap off would break the
# composite rules that depend on their symbols).
REMOTE_MAP_RULES = (
    # Rspamd 3.8's rule for URLs of known redirectors (3.4 had none): offline,
    # its map fetch logged an err-level "cannot resolve maps.rspamd.com".
    "redirector",
    *(f"{kind}_{part}" for kind in ("freemail", "disposable") for part in ("envfrom", "envrcpt", "from", "to", "cc", "replyto")),
)


@deploy("Image: Rspamd")
def image_phase() -> list[OperationMeta]:
    """Rspamd's packages and files; returns what may need a restart."""
    s = current()
    install("rspamd", packages.RSPAMD)

    # Works around Rspamd 3.4's failing symbol-cache save (see the file).
    unit = place(layout.RSPAMD_DROP_IN)
    systemd.daemon_reload(name="systemd reads Rspamd's drop-in", _if=unit.did_change)
    changes = [
        unit,
        place(layout.rspamd_local("worker-proxy.inc"), s=s),
        place(layout.rspamd_local("dkim_signing.conf"), s=s),
        place(layout.rspamd_local("options.inc"), s=s),
        place(layout.rspamd_local("logging.inc"), s=s),
        place(layout.rspamd_local("redis.conf"), s=s),
        place(layout.rspamd_local("greylist.conf"), s=s),
    ]
    offline_files: tuple[tuple[str, dict[str, Any]], ...] = (
        (layout.rspamd_local("multimap.conf"), {"rules": REMOTE_MAP_RULES, "map": layout.RSPAMD_OFFLINE_MAP}),
        (layout.RSPAMD_OFFLINE_MAP, {}),
    )
    for path, context in offline_files:
        if s.rspamd.offline:
            changes.append(place(path, **context))
        else:
            changes.append(absent(path))
    for module in ONLINE_MODULES:
        path = layout.rspamd_local(f"{module}.conf")
        if s.rspamd.offline:
            changes.append(place(path, template=layout.rspamd_local("disabled-module.conf"), module=module))
        else:
            changes.append(absent(path))

    if s.rspamd.milter_socket is not None:
        folder(
            layout.MILTER_SOCKET_DIR,
            mode="755",
            user=layout.RSPAMD_USER,
            group=layout.RSPAMD_USER,
            name="Milter socket directory",
        )
    folder(layout.DKIM_DIR, mode="750", user=layout.RSPAMD_USER, group=layout.RSPAMD_USER, name="DKIM key directory")
    return changes


@deploy("Host: Rspamd")
def host_phase(changes: list[OperationMeta] | None = None) -> list[OperationMeta]:
    """Redis, the counters, the DKIM keys (per host), Rspamd restarted on any change; returns the changes (for milter_listening)."""
    s = current()
    changes = list(changes or [])
    manage_service(layout.REDIS_SERVICE)
    # Rspamd's controller reads its saved counters at start and logs an error
    # when there are none yet; give a new host an empty set. Rspamd rewrites
    # them, so the stamp observes that they exist, not what they say.
    seed(layout.RSPAMD_STATS, "{}\n", user=layout.RSPAMD_USER, group=layout.RSPAMD_USER, name="Rspamd controller stats")
    for domain in s.served_domains:
        key = layout.dkim_key(domain, s.rspamd.dkim_selector)
        manage_path(key)
        if exists(key):
            host.noop(f"DKIM key for {domain} already exists")
            continue
        # The key is state, made once here and never in the repo; the .txt
        # beside it is the DNS record that `february dns` prints.
        changes.append(
            server.shell(
                name=f"Create the DKIM key for {domain}",
                commands=[
                    f"rspamadm dkim_keygen -b 2048 -s {shlex.quote(s.rspamd.dkim_selector)} -d {shlex.quote(domain)} "
                    f"-k {shlex.quote(key)} > {shlex.quote(layout.dkim_record(domain, s.rspamd.dkim_selector))}",
                    f"chown {layout.RSPAMD_USER}:{layout.RSPAMD_USER} {shlex.quote(key)} && chmod 640 {shlex.quote(key)}",
                ],
            )
        )

    enabled_and_running("Redis", layout.REDIS_SERVICE)
    # A restart, not a reload: a reload while Rspamd still compiles its
    # regexps (minutes under emulation) made its main process exit.
    restart_on_change("Rspamd", "rspamd", changes, check=CHECKS)
    return changes


@deploy("Host: Rspamd")
def milter_listening(changes: list[OperationMeta] | None = None) -> None:
    """Wait, when ``changes`` (host_phase()'s) restarted Rspamd, until its milter listens; right before Postfix's host phase.

    systemd calls Rspamd started long before its milter listens (it compiles
    its regexps first: minutes under emulation, the first time); until then
    Postfix passes mail unfiltered and unsigned (milter_default_action =
    accept). So Postfix is (re)started only once the milter answers, and a
    converge ends only then. The roles in between run while Rspamd compiles.
    """
    s = current()
    if s.rspamd.milter_socket is not None:
        listening = f"test -S {shlex.quote(s.rspamd.milter_socket)}"
    else:
        listening = f"ss -Hltn 'sport = :{s.rspamd.milter_port}' | grep -q ."
    server.shell(
        name="Wait for the Rspamd milter",
        commands=[f"for i in $(seq 900); do {listening} && exit 0; sleep 1; done; exit 1"],
        _if=any_changed(*(changes or [])),
    )
