"""The February mail host: `pyinfra inventory/hosts.py deploy.py`.

Each role is one @deploy in pyinfra_deploys/roles/; the order matters only
where one service needs another's sockets or files. A host whose converge
stamp still matches (pyinfra_deploys/stamp.py) is left alone after one
command; anything changed or drifted runs every role, then records a
generation when a managed file changed (pyinfra_deploys/roles/generations.py).
"""

from typing import cast

from pyinfra import host
from pyinfra.api.operation import OperationMeta

from pyinfra_deploys import stamp
from pyinfra_deploys.roles.backup import backup
from pyinfra_deploys.roles.base import base
from pyinfra_deploys.roles.dovecot import dovecot
from pyinfra_deploys.roles.firewall import firewall
from pyinfra_deploys.roles.generations import generations, record_generation
from pyinfra_deploys.roles.postfix import postfix
from pyinfra_deploys.roles.rspamd import milter_listening, rspamd
from pyinfra_deploys.roles.status import status
from pyinfra_deploys.roles.tls import tls
from pyinfra_deploys.roles.updates import updates
from pyinfra_deploys.settings.host import baking, current, current_secrets

secrets = current_secrets()
wanted = stamp.wanted_digest(stamp.settings_json(current()), secrets.stamp_values())

if not baking() and stamp.already_converged(wanted):
    host.noop("February is converged: settings, code and the observed state match the stamp")
else:
    base()
    updates()
    # pyinfra types every @deploy as returning OperationMeta; tls() returns its list.
    tls_changes = cast(list[OperationMeta], tls())
    dovecot(tls_changes=tls_changes)
    rspamd_changes = cast(list[OperationMeta], rspamd())
    # Postfix goes last, once the milter listens: Rspamd's first start
    # compiles its regexps (minutes under emulation), meanwhile these roles run.
    firewall()
    backup()
    status()
    milter_listening(changes=rspamd_changes)
    postfix(tls_changes=tls_changes)
    generations()
    if not baking():
        stamp.write_stamp(wanted)
        # The managed files as a generation (`february generations`), after the stamp that lists them.
        record_generation(stamp.settings_digest(current()))
