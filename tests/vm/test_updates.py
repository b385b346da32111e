"""Security updates: unattended-upgrades on Ubuntu's security pocket only, needrestart restarting without asking."""

from __future__ import annotations

from tests.vm.mailvm import MailVm


def test_security_updates_are_configured(mailvm: MailVm) -> None:
    mailvm.run("dpkg-query -W unattended-upgrades needrestart")
    dump = mailvm.run("apt-config dump Unattended-Upgrade").stdout
    patterns = [line for line in dump.splitlines() if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")]
    assert patterns == ['Unattended-Upgrade::Origins-Pattern:: "origin=Ubuntu,archive=${distro_codename}-security";']
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "04:30";' in dump
    assert 'APT::Periodic::Unattended-Upgrade "1";' in mailvm.run("apt-config dump APT::Periodic").stdout
    assert mailvm.run("systemctl is-enabled apt-daily-upgrade.timer").stdout.strip() == "enabled"
    assert "$nrconf{restart} = 'a';" in mailvm.run("cat /etc/needrestart/conf.d/february.conf").stdout
