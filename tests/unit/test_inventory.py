"""The one settings path: any inventory file, loaded as pyinfra loads it, for every command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from february.paths import REPO
from pyinfra_deploys.bake_groups import check_bake_groups
from pyinfra_deploys.settings import SettingsError
from pyinfra_deploys.settings.inventory import InventoryError, inventory_host


def new_owner_inventory(folder: Path, secrets: Path, extra: str = "") -> Path:
    """An inventory written the way the README tells a new owner: group_data/all.py plus a hosts file."""
    (folder / "group_data").mkdir(parents=True)
    (folder / "group_data" / "all.py").write_text(
        textwrap.dedent(f"""\
        february = {{
            "hostname": "mail.owner.example.test",
            "domain": "owner.example.test",
            "mailboxes": {{
                "me@owner.example.test": {{"hashed_password_file": "{secrets / "alice.hash"}"}},
            }},
            "smarthost": {{
                "host": "smtp.fastmail.com",
                "username": "me@fastmail.com",
                "password_file": "{secrets / "smarthost.password"}",
            }},
            {extra}
        }}
        """)
    )
    path = folder / "mine.py"
    path.write_text('mail = [("february.home.arpa", {"ssh_user": "ubuntu", "_sudo": True})]\n')
    return path


def test_a_new_owners_inventory_file_loads_with_its_group_data(tmp_path: Path, secrets_dir: Path) -> None:
    found = inventory_host(new_owner_inventory(tmp_path / "site", secrets_dir))
    assert found.name == "february.home.arpa"
    assert found.settings.served_domains == ["owner.example.test"]
    assert (found.ssh_user, found.data["_sudo"]) == ("ubuntu", True)


def test_february_check_accepts_a_new_inventory_file(tmp_path: Path, secrets_dir: Path) -> None:
    inventory = new_owner_inventory(tmp_path / "site", secrets_dir)
    done = subprocess.run([sys.executable, "-m", "february", "check", str(inventory)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "settings valid for mail.owner.example.test" in done.stdout


def test_february_check_names_a_bad_key_in_one_message_without_a_traceback(tmp_path: Path, secrets_dir: Path) -> None:
    inventory = new_owner_inventory(tmp_path / "site", secrets_dir, extra='"submission_networks": ["10.0.0.300/24"],')
    done = subprocess.run([sys.executable, "-m", "february", "check", str(inventory)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2
    assert "february.submission_networks.0" in done.stderr and "Traceback" not in done.stderr


def test_the_vm_inventory_layers_its_overrides() -> None:
    settings = inventory_host(REPO / "inventory" / "vm.py", check_files=False).settings
    assert settings.smarthost is not None and settings.smarthost.host == "relay.example.net"
    assert settings.rspamd.offline and "10.0.2.0/24" in settings.submission_networks


@pytest.mark.parametrize("value", [["a", "list"], "a string", 42, None])
def test_settings_that_are_not_a_dict_are_an_error_not_a_traceback(tmp_path: Path, value: object) -> None:
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text(f"february = {value!r}\n")
    (tmp_path / "one.py").write_text('mail = ["february.home.arpa"]\n')
    with pytest.raises(SettingsError) as caught:
        inventory_host(tmp_path / "one.py")
    assert "february" in str(caught.value)


def test_a_missing_file_or_host_is_named(tmp_path: Path, secrets_dir: Path) -> None:
    with pytest.raises(InventoryError, match="no such inventory file"):
        inventory_host(tmp_path / "absent.py")
    inventory = new_owner_inventory(tmp_path / "site", secrets_dir)
    with pytest.raises(InventoryError, match="no host 'other'"):
        inventory_host(inventory, "other")


def test_a_bake_joins_site_groups_by_name_but_never_the_build_vms_own() -> None:
    assert check_bake_groups(["vm", "mail", "vm"]) == ("mail", "vm")
    assert check_bake_groups(iter(["vm", "mail"])) == ("mail", "vm")  # a generator, as inventory/bake.py gives them
    for bad in ("bake", "Mail", "vm,mail", "1st", "mail\nbake = []"):
        with pytest.raises(ValueError, match="bake group"):
            check_bake_groups([bad])


def test_the_bake_inventory_puts_the_build_vm_in_the_site_groups_it_names() -> None:
    env = {"FEBRUARY_BAKE_PORT": "2222", "FEBRUARY_BAKE_SSH_KEY": "/nonexistent", "FEBRUARY_BAKE_GROUPS": "vm,mail"}
    code = "import runpy, json; g = runpy.run_path('inventory/bake.py'); print(json.dumps({k: g[k] for k in ('bake', 'vm', 'mail')}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **env}, cwd=REPO
    )
    groups = json.loads(done.stdout)
    assert [name for name, _ in groups["bake"]] == ["february-bake"] and groups["bake"][0][1]["ssh_port"] == 2222
    assert groups["vm"] == groups["mail"] == ["february-bake"]


def test_the_bake_inventory_refuses_its_own_group_from_the_environment() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "FEBRUARY_BAKE_PORT": "2222",
        "FEBRUARY_BAKE_SSH_KEY": "/nonexistent",
        "FEBRUARY_BAKE_GROUPS": "vm,bake",
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "inventory" / "bake.py")], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 2
    assert "FEBRUARY_BAKE_GROUPS: bake group 'bake'" in done.stderr
