"""The converge stamp: a no-op converge in one command instead of one per operation.

A plain pyinfra run asks dozens of facts, each its own command over SSH;
under emulation that made a converge that changes nothing take close to a
minute. So the last operation of a successful converge writes a stamp on
the host:

    line 1  the digest of what was wanted (settings, secrets, templates, code)
    line 2  the digest of what was then observed (managed files' content,
            mode and owner, services, packages, users)
    rest    what to observe, one "kind value" line each

The next run first reads one fact: the stamp, plus the same observation
made now. When the wanted digest is unchanged and the host still looks
exactly as it did, every role is skipped; anything else (a changed setting
or template, an edited or deleted file, a stopped service, a removed
package) runs the full deploy, which repairs it and writes a new stamp.

Roles register what they manage (``manage_path``, ``manage_presence``, ``manage_service``,
``manage_packages``, ``manage_user``) while their operations are declared,
so the list is never kept by hand in a second place.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel
from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server

from pyinfra_deploys.digest import files_matching, hash_files
from pyinfra_deploys.layout import STAMP
from pyinfra_deploys.repo import REPO

CODE = ("deploy.py", "pyinfra_deploys/**/*", "files/**/*")

# Reads "kind value" lines on stdin and prints what each thing looks like now.
# Paths are observed in two batched commands, not one per path; the services in one
# ``systemctl show`` (two systemctl runs per service took 4.5 s of 8 under emulation).
OBSERVE = r"""
list=$(cat)
paths=$(printf '%s\n' "$list" | sed -n 's/^path //p')
services=$(printf '%s\n' "$list" | sed -n 's/^service //p')
packages=$(printf '%s\n' "$list" | sed -n 's/^package //p')
users=$(printf '%s\n' "$list" | sed -n 's/^user //p')
present=$(printf '%s\n' "$list" | sed -n 's/^present //p')
for p in $paths; do [ -e "$p" ] || echo "missing $p"; done
existing=$(for p in $paths; do [ -e "$p" ] && echo "$p"; done)
[ -z "$existing" ] || stat -c '%n %a %U %G %F' $existing
files=$(for p in $existing; do [ -f "$p" ] && echo "$p"; done)
[ -z "$files" ] || sha256sum $files
[ -z "$services" ] || systemctl show --property=Id --property=UnitFileState --property=ActiveState -- $services 2>&1
[ -z "$packages" ] || dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' $packages 2>&1
for u in $users; do getent passwd "$u" || echo "no user $u"; done
for p in $present; do stat -c '%n %U %G %F' "$p" 2>/dev/null || echo "missing $p"; done
"""

STAMP_OPERATION = "Record the converge stamp"  # bookkeeping, not a change of the host's configuration (`february diff`)

_managed: dict[str, dict[str, set[str]]] = {}


def _bucket(kind: str) -> set[str]:
    return _managed.setdefault(host.name, {}).setdefault(kind, set())


def manage_path(*paths: str) -> None:
    _bucket("path").update(paths)


def manage_presence(*paths: str) -> None:
    """Paths whose content is the service's own (e.g. counters it saves): observed to exist, with their owner."""
    _bucket("present").update(paths)


def manage_service(*services: str) -> None:
    _bucket("service").update(services)


def manage_packages(packages: Iterable[str]) -> None:
    _bucket("package").update(packages)


def manage_user(*users: str) -> None:
    _bucket("user").update(users)


def managed(kind: str) -> set[str]:
    """What the roles declared so far of one kind ("path", "package", ...) on the current host."""
    return set(_managed.get(host.name, {}).get(kind, set()))


def observation_list() -> str:
    lines = [f"{kind} {value}" for kind, values in sorted(_managed.get(host.name, {}).items()) for value in sorted(values)]
    return "\n".join(lines)


def wanted_digest(settings_json: str, secret_values: Iterable[str | None]) -> str:
    """Digest of everything a converge is made from; secrets enter only hashed."""
    digest = hashlib.sha256(settings_json.encode())
    for value in secret_values:
        digest.update(hashlib.sha256((value or "").encode()).digest())
    hash_files(files_matching(REPO, CODE), REPO, digest)
    return digest.hexdigest()


class ConvergeStamp(FactBase[dict[str, str] | None]):
    """The stamp of the last converge and the host's state observed now.

    .. code:: python

        {"wanted": "9f2c...", "observed_then": "41ab...", "observed_now": "41ab..."}

    ``None`` when the host has no stamp (never converged, or the image was generalized).
    When the stamp wanted other settings or code than ``wanted``, nothing is
    observed (``observed_now`` is "not observed"): the converge runs anyway,
    and the observation is the slowest of its reads (6 s under emulation).
    """

    def command(self, wanted: str) -> str:
        observe = shlex.quote(OBSERVE)
        return (
            f"if [ -r {STAMP} ]; then sed -n 1,2p {STAMP}; "
            f'if [ "$(sed -n 1p {STAMP})" = {shlex.quote(wanted)} ]; then '
            f"sed -n '3,$p' {STAMP} | sh -c {observe} | sha256sum | cut -d' ' -f1; "
            "else echo 'not observed'; fi; fi"
        )

    def process(self, output: list[str]) -> dict[str, str] | None:
        lines = [line.strip() for line in output if line.strip()]
        if len(lines) < 3:
            return None
        return {"wanted": lines[0], "observed_then": lines[1], "observed_now": lines[2]}


def already_converged(wanted: str) -> bool:
    stamp = host.get_fact(ConvergeStamp, wanted=wanted)
    return stamp is not None and stamp["wanted"] == wanted and stamp["observed_then"] == stamp["observed_now"]


def write_stamp(wanted: str) -> OperationMeta:
    """The last operation: wait for the services to settle, observe, write the stamp."""
    listing = observation_list()
    services = " ".join(sorted(_managed.get(host.name, {}).get("service", set())))
    wait = f"for i in $(seq 60); do systemctl is-active --quiet {services} && break; sleep 0.5; done; " if services else ""
    command = (
        f"{wait}umask 077 && mkdir -p {Path(STAMP).parent} && "
        f"printf '%s\\n' {shlex.quote(listing)} > {STAMP}.list && "
        f"{{ echo {wanted}; sh -c {shlex.quote(OBSERVE)} < {STAMP}.list | sha256sum | cut -d' ' -f1; cat {STAMP}.list; }} > {STAMP}.new && "
        f"mv {STAMP}.new {STAMP} && rm {STAMP}.list"
    )
    return server.shell(name=STAMP_OPERATION, commands=[command])


def settings_digest(settings: BaseModel) -> str:
    """What a generation records of the settings that made it (`february status` compares it with the inventory's)."""
    return hashlib.sha256(settings_json(settings).encode()).hexdigest()


def settings_json(settings: BaseModel) -> str:
    """The settings as canonical JSON (sorted keys): the same settings give the same text."""
    return json.dumps(json.loads(settings.model_dump_json()), sort_keys=True)
