"""Generations: the script that records and switches them (``pyinfra_deploys/host/february_generation.py``) and its configuration.

The converge records a generation as its last step (``record_generation``,
after the converge stamp, whose list of managed paths it reads). ``february
generations`` lists them, ``february rollback`` switches to one, and
``february deploy`` switches back by itself when a converge fails or the
host fails its checks afterwards.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server

from pyinfra_deploys import layout
from pyinfra_deploys.host import february_generation
from pyinfra_deploys.place import place, place_own
from pyinfra_deploys.repo import REPO
from pyinfra_deploys.roles import dovecot, postfix, rspamd
from pyinfra_deploys.service import enabled_at_boot
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.stamp import manage_service
from pyinfra_deploys.ufw.operations import reload_user_rules_command

SCRIPT_SOURCE = Path(february_generation.__file__)
RECORD_OPERATION = "Record the generation"  # bookkeeping, not a change of the host's configuration (`february diff`)
# The health checks' sections (pyinfra_deploys/host/february_status.py) a switch must pass.
VERIFY_SECTIONS = ("Services", "Ports", "Rspamd", "Relay", "Delivery")
# What must pass before a changed file takes effect: the checks of its service alone, so
# that a switch back of UFW's rules (a lockout undone) waits for no configtest.
VALIDATE: tuple[tuple[str, str], ...] = (
    *((f"{layout.POSTFIX_DIR}/", check) for check in postfix.CHECKS),
    *((layout.ALIASES, check) for check in postfix.CHECKS),
    *((f"{layout.DOVECOT_DIR}/", check) for check in dovecot.CHECKS),
    *((f"{layout.RSPAMD_LOCAL_D}/", check) for check in rspamd.CHECKS),
    *((layout.RSPAMD_DROP_IN, check) for check in rspamd.CHECKS),
)
# What a changed file needs before it takes effect, in the order they run.
RELOAD: tuple[tuple[str, str], ...] = (
    (f"{layout.SYSTEMD_UNITS}/", "systemctl daemon-reload"),
    (f"{layout.POSTFIX_DIR}/", "postfix reload"),
    (layout.ALIASES, "postfix reload"),
    (f"{layout.DOVECOT_DIR}/", "systemctl restart dovecot"),
    (f"{layout.RSPAMD_LOCAL_D}/", "systemctl restart rspamd"),
    (layout.RSPAMD_DROP_IN, "systemctl restart rspamd"),
    # UFW's rules alone: reloaded as `ufw allow` does it; its other files need `ufw reload`.
    *((path, reload_user_rules_command()) for path in (layout.UFW_USER_RULES, layout.UFW_USER6_RULES)),
    *((path, "ufw reload") for path in layout.UFW_FILES if path not in (layout.UFW_USER_RULES, layout.UFW_USER6_RULES)),
)


def generations_config(s: Settings) -> dict[str, Any]:
    """The script's configuration (``february_generation.Config``): from layout, the roles' checks and the settings."""
    return {
        "root": layout.GENERATIONS_DIR,
        "stamp": layout.STAMP,
        "keep": s.generations.keep,
        "state_paths": list(layout.STATE_PATHS),
        "validate": [list(pair) for pair in VALIDATE],
        "reload": [list(pair) for pair in RELOAD],
        "status_script": layout.STATUS_SCRIPT,
        "status_config": layout.STATUS_CONFIG,
        "verify_sections": list(VERIFY_SECTIONS),
        "rollback_unit": layout.ROLLBACK_UNIT,
    }


def config_text(s: Settings) -> str:
    return json.dumps(generations_config(s), indent=2, sort_keys=True) + "\n"


@deploy("Image: generations")
def image_phase() -> None:
    place_own(layout.GENERATION_SCRIPT, source=SCRIPT_SOURCE)
    place_own(layout.GENERATION_CONFIG, text=config_text(current()))
    place(layout.ROLLBACK_RESUME_FILE)


@deploy("Host: generations")
def host_phase() -> None:
    """A rollback armed before a reboot goes on after it (``february-generation resume``), enabled, never started here:
    a converge runs while its own deploy's rollback is armed."""
    manage_service(layout.ROLLBACK_RESUME_SERVICE)
    enabled_at_boot("Armed rollback resumed at boot", layout.ROLLBACK_RESUME_SERVICE)


def revision() -> tuple[str, bool]:
    """The repository's git revision and whether its tree has changes; ("unknown", False) outside git."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return head.stdout.strip(), bool(dirty.stdout.strip())


def record_generation(settings_digest: str) -> OperationMeta:
    """The converge's last step: its managed files as a new generation, unless they equal the current one."""
    rev, dirty = revision()
    argv = [layout.GENERATION_SCRIPT, layout.GENERATION_CONFIG, "record", rev, "1" if dirty else "0", settings_digest, "converge"]
    return server.shell(name=RECORD_OPERATION, commands=[shlex.join(argv)])
