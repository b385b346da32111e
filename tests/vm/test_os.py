"""The booted VM is the declared OS (images/oses.py): Ubuntu 24.04, its kernel with the February-class NIC modules, its archive."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from february.vm.config import OUTSIDE_ADDRESS, RELAY_NAME
from images import oses
from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm

RELEASE = oses.DEFAULT


def test_the_vm_runs_the_declared_release(mailvm: MailVm) -> None:
    release = dict(line.split("=", 1) for line in mailvm.run("cat /etc/os-release").stdout.splitlines() if "=" in line)
    assert release["ID"] == "ubuntu" and release["VERSION_CODENAME"] == RELEASE.suite


def test_the_mail_stack_is_noble_s(mailvm: MailVm) -> None:
    """The versions the owner's box runs (a test fails here first when the archive moves on to a new upstream)."""
    versions = mailvm.run("postconf -h mail_version; dovecot --version; rspamd --version; uname -r").stdout.splitlines()
    print("versions:", versions)  # in the CI log: what actually ran
    postfix, dovecot, rspamd, kernel = versions[0], versions[1], " ".join(versions[2:-1]), versions[-1]
    assert postfix.startswith("3.8."), postfix
    assert dovecot.startswith("2.3.21"), dovecot
    assert re.search(r"\b3\.8\.\d", rspamd), rspamd
    assert kernel.endswith("-generic"), kernel


@pytest.mark.parametrize("module", ["igc", "r8169", "e1000e", "igb", "nvme"])
def test_the_kernel_has_the_february_class_drivers(mailvm: MailVm, module: str) -> None:
    """igc and r8169 live in linux-modules-extra, which linux-image-virtual alone lacks."""
    done = mailvm.run(f"modinfo -F filename {module}", check=False)
    assert done.returncode == 0 and f"/{module}.ko" in done.stdout, done.stderr


def test_r8169_finds_its_firmware(mailvm: MailVm) -> None:
    assert mailvm.run("ls /lib/firmware/rtl_nic/ | grep -c '^rtl8168'").stdout.strip() != "0"


def test_apt_uses_the_declared_pockets_and_trusts_only_ubuntu_s_key(mailvm: MailVm) -> None:
    sources = mailvm.run("grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; true").stdout
    assert sorted(sources.splitlines()) == sorted(RELEASE.mirrors)
    # No other list beside them (cloud-init's apt_configure would write an ubuntu.sources of its own).
    assert mailvm.run("ls /etc/apt/sources.list.d/").stdout.split() == []
    # Only ubuntu-keyring's files (its archive key and its CD image key), the archive
    # key byte for byte the one the base was verified with.
    trusted = mailvm.run("ls /etc/apt/trusted.gpg.d/; ls /etc/apt/keyrings/ 2>/dev/null; true").stdout.split()
    assert sorted(trusted) == ["ubuntu-keyring-2012-cdimage.gpg", "ubuntu-keyring-2018-archive.gpg"]
    on_host = mailvm.run("sha256sum /etc/apt/trusted.gpg.d/ubuntu-keyring-2018-archive.gpg").stdout.split()[0]
    assert on_host == hashlib.sha256(RELEASE.keyring.read_bytes()).hexdigest()
    assert "trusted=yes" not in mailvm.run("cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null; true").stdout


def test_cloud_init_finished_the_first_boot_cleanly_and_is_off_since_the_converge(mailvm: MailVm) -> None:
    """The first boot's record, kept on disk: every stage finished without errors, the recoverable
    ones included (they make cloud-init >= 23.4 exit 2). Off from the first converge on
    (a reboot skips it: tests/vm/test_faults.py)."""
    status = json.loads(mailvm.run("cat /var/lib/cloud/data/status.json").stdout)["v1"]
    assert status["datasource"].startswith("DataSourceNoCloud")
    for stage in ("init-local", "init", "modules-config", "modules-final"):
        assert status[stage]["finished"], stage
        assert status[stage]["errors"] == [] and status[stage]["recoverable_errors"] == {}, (stage, status[stage])
    assert mailvm.host.file(layout.CLOUD_INIT_DISABLED).exists


def test_dns_goes_through_the_vm_s_own_resolv_conf(mailvm: MailVm) -> None:
    """systemd-resolved runs, as on a stock server; the VM's resolv.conf (the fake DNS over TCP) replaced its stub link."""
    assert mailvm.run("systemctl is-active systemd-resolved").stdout.strip() == "active"
    assert mailvm.run("test -L /etc/resolv.conf || echo file").stdout.strip() == "file"
    assert mailvm.run(f"getent hosts {RELAY_NAME}").stdout.split()[0] == OUTSIDE_ADDRESS
