"""Firewall: UFW with rules derived from the settings, never a second hand-kept list."""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.api.exceptions import DeployError

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.facts.connection import Seen, SshConnection
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.stamp import manage_path
from pyinfra_deploys.ufw import operations as ufw
from pyinfra_deploys.ufw import reach
from pyinfra_deploys.ufw.rule import UfwRule

# Host data (`february deploy --allow-lockout`, or `pyinfra ... --data february_allow_lockout=true`):
# apply a rule set that would not let the deploying address back in.
ALLOW_LOCKOUT = "february_allow_lockout"


def firewall_rules(s: Settings) -> list[UfwRule]:
    """Every port the enabled services need, from the sources the settings allow.

    25 is open to the internet (other servers deliver there); submission and
    IMAPS only from the LAN and VPN ranges; SSH from ssh_from or anywhere.
    """
    rules = ssh_rules(s)
    rules.append(UfwRule("allow", "tcp", layout.SMTP_PORT, "any", "february: smtp"))
    for port, label in ((layout.SUBMISSION_PORT, "submission"), (layout.IMAPS_PORT, "imaps")):
        rules += [UfwRule("allow", "tcp", port, network, f"february: {label}") for network in s.submission_networks]
    return rules


def ssh_rules(s: Settings) -> list[UfwRule]:
    return [UfwRule("allow", "tcp", s.firewall.ssh_port, source, "february: ssh") for source in (s.firewall.ssh_from or ["any"])]


@deploy("Image: firewall")
def image_phase() -> None:
    """UFW on, denying all but SSH: an image boots with its firewall up, the mail ports closed until its first converge."""
    s = current()
    if not s.firewall.enabled:
        return
    install("firewall", packages.FIREWALL)
    manage_path(*layout.UFW_FILES)
    ufw.default_policy(name="UFW: deny incoming, allow outgoing", incoming="deny", outgoing="allow", routed="deny")
    # The SSH rule goes in before UFW is enabled, and enabling refuses to
    # run unless SSH stays allowed, so a deploy cannot lock itself out.
    ssh = ssh_rules(s)
    ufw.rules(name="UFW lets SSH in", rules=ssh, exclusive=False)
    ufw.enabled(name="UFW enabled", enabled=True, require_port=s.firewall.ssh_port, rules=ssh)


def lockout(s: Settings, seen: Seen) -> str | None:
    """Why the settings' rule set would not let a new SSH connection from ``seen`` in; None when it would."""
    if reach.admits(firewall_rules(s), seen.address, seen.port):
        return None
    key = "firewall.ssh_port" if s.firewall.ssh_port != seen.port else "firewall.ssh_from"
    allowed = ", ".join(s.firewall.ssh_from) or "anywhere"
    return (
        f"{key}: the firewall would not let {seen.address} (this deploy's address, as the host sees it) reach SSH on "
        f"port {seen.port}; the settings allow SSH on port {s.firewall.ssh_port} from {allowed}"
    )


def allowed_to_lock_out(data: object) -> bool:
    return str(data).lower() in ("true", "1", "yes")


def keep_the_deployer_in(s: Settings) -> None:
    """Stop the deploy before any change when its rule set would strand the deployer (a new connection would not get in)."""
    seen = host.get_fact(SshConnection, _sudo=False)
    problem = lockout(s, seen) if seen is not None else None
    if problem is None:
        return
    if allowed_to_lock_out(host.data.get(ALLOW_LOCKOUT)):
        logger.warning(f"{problem}; applied anyway ({ALLOW_LOCKOUT})")
        return
    raise DeployError(
        f"{problem}. Nothing was changed. Add the deploying network to firewall.ssh_from, or deploy with "
        "--allow-lockout (`february deploy`) if you reach the host another way."
    )


@deploy("Host: firewall")
def host_phase() -> None:
    """Exactly the rules from the settings (the mail ports to whom they are for), or UFW off when the settings say so."""
    s = current()
    if not s.firewall.enabled:
        ufw.enabled(name="UFW disabled by the settings", enabled=False)
        return
    keep_the_deployer_in(s)
    ufw.rules(name="UFW rules from the settings", rules=firewall_rules(s), exclusive=True)
