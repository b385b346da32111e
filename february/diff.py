"""`february diff`: what the next converge would change on the live host, from pyinfra's own dry run.

``pyinfra INVENTORY deploy.py --dry --diff --json`` gathers the same facts a
converge does and changes nothing. Its log (stderr) holds a unified diff of
every managed file it would write ("Will create/modify PATH"; a secret
shows only that it changes) and each UFW rule it would add or delete; its
JSON plan (stdout) names each operation that would change the host. The
services that would restart or reload are those of the changed files, by
the table a generation switch uses (``roles.generations.RELOAD``): pyinfra
can only say that every conditional restart "may" run. The converge's own
records are not changes of the host's configuration and are left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pyinfra_deploys.host.february_generation import command_name
from pyinfra_deploys.roles.generations import RECORD_OPERATION, RELOAD
from pyinfra_deploys.stamp import STAMP_OPERATION

BOOKKEEPING = (STAMP_OPERATION, RECORD_OPERATION)
WILL = re.compile(r"\] Will (?:create|modify|remove|delete) (/\S+)")


@dataclass
class Plan:
    changes: list[str] = field(default_factory=list)  # operations that would change the host
    services: list[str] = field(default_factory=list)  # restarts and reloads the changed files need
    diff: list[str] = field(default_factory=list)  # the file diffs and UFW rules, as pyinfra logged them


def diff_lines(log: str, host: str) -> list[str]:
    """The "Will ..." lines of ``host`` and the diff lines under them, from pyinfra's log."""
    found: list[str] = []
    inside = False
    for line in log.splitlines():
        if line.startswith(f"    [{host}] Will "):
            inside = True
            found.append(line[4:].rstrip())
        elif inside and line.startswith("      "):
            found.append(line[4:])
        else:
            inside = False
    return found


def parse(stdout: str, log: str, host: str) -> Plan:
    data: Any = json.loads(stdout)
    plan = Plan(diff=diff_lines(log, host))
    plan.changes = [op["name"] for op in data["plan"] if host in op["hosts_with_change"] and op["name"] not in BOOKKEEPING]
    paths = [found.group(1) for line in plan.diff if (found := WILL.search(line))]
    for prefix, command in RELOAD:
        name = command_name(command)
        if any(path.startswith(prefix) for path in paths) and name not in plan.services:
            plan.services.append(name)
    return plan
