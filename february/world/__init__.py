"""The outside world for the test VM, on the host's loopback only.

The VM's user-mode network is closed (QEMU ``restrict=on``); the only things
it can reach are the two services here, through QEMU ``guestfwd``:

* :class:`~february.world.smarthost.FakeSmarthost`, the Postfix relayhost
  (STARTTLS + AUTH, like a provider's port 587), which records every message
  it accepts into a spool folder the tests read back;
* :class:`~february.world.dns.FakeDns`, an authoritative-looking DNS server
  answering from zone-file text, over TCP (guestfwd only carries TCP).

Both bind to 127.0.0.1 and refuse any non-loopback address, so running the
tests never exposes anything or sends anything off the host.
``python -m february.world`` runs both in the foreground for the VM.
"""

from __future__ import annotations

from february.world.certs import self_signed
from february.world.dns import FakeDns
from february.world.smarthost import FakeSmarthost, raw_bytes, read_spool

__all__ = ["FakeDns", "FakeSmarthost", "raw_bytes", "read_spool", "self_signed"]
