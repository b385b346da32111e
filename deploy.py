"""The February mail host: `pyinfra inventory/hosts.py deploy.py`.

Each role is one @deploy in pyinfra_deploys/roles/; the order matters only
where one service needs another's sockets or files.
"""

from pyinfra_deploys.roles.base import base
from pyinfra_deploys.roles.dovecot import dovecot
from pyinfra_deploys.roles.firewall import firewall
from pyinfra_deploys.roles.postfix import postfix
from pyinfra_deploys.roles.rspamd import rspamd
from pyinfra_deploys.roles.tls import tls

base()
tls_changes = tls()
dovecot(tls_changes=tls_changes)
rspamd()
postfix(tls_changes=tls_changes)
firewall()
