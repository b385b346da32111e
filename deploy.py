"""The February mail host: `pyinfra inventory/hosts.py deploy.py`.

Two phases (pyinfra_deploys/phases.py): the image phase (packages and every
file that needs no secret or host identity: what Packer bakes into the golden
image), then the host phase (name, secrets, keys, services, firewall rules).
Each role in pyinfra_deploys/roles/ has a @deploy for each phase it has a
part in. A host whose converge stamp still matches (pyinfra_deploys/stamp.py)
is left alone after one command; anything changed or drifted runs both
phases, then records a generation when a managed file changed
(pyinfra_deploys/roles/generations.py).
"""

from pyinfra import host

from pyinfra_deploys import phases, stamp
from pyinfra_deploys.roles.generations import record_generation
from pyinfra_deploys.settings.host import baking, current, current_secrets

secrets = current_secrets()
wanted = stamp.wanted_digest(stamp.settings_json(current()), secrets.stamp_values())

if baking():
    # The golden image (images/packer): the image phase alone, and its record for the manifest.
    phases.image_phase()
    phases.record_image_phase()
elif stamp.already_converged(wanted):
    host.noop("February is converged: settings, code and the observed state match the stamp")
else:
    phases.host_phase(phases.image_phase())
    stamp.write_stamp(wanted)
    # The managed files as a generation (`february generations`), after the stamp that lists them.
    record_generation(stamp.settings_digest(current()))
