"""Every local file the settings name moves the converge stamp's wanted digest, as deploy.py computes it.

The files are found from the model (fields typed PasswordFile, HashFile, ...),
so this test walks the model's field types itself: a file field added later
fails here until the sample below sets it, and is then checked to move the digest.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from february.site import hash_password
from pyinfra_deploys.settings import load_settings
from pyinfra_deploys.settings.load import read_secrets
from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.rules import local_file, secret_files
from pyinfra_deploys.settings.types import check_credentials, check_hash_line, check_password_line, check_ssh_private_key
from pyinfra_deploys.stamp import settings_json, wanted_digest


def file_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """The keys of the model's local-file fields, from its types alone (a mapping's key is '*')."""
    found: set[str] = set()
    for name, field in model.model_fields.items():
        if local_file(field) is not None:
            found.add(prefix + name)
            continue
        annotation = field.annotation
        if get_origin(annotation) in (Union, types.UnionType):  # X | None
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        if get_origin(annotation) is dict:
            annotation, prefix_of = get_args(annotation)[1], f"{prefix}{name}.*."
        else:
            prefix_of = f"{prefix}{name}."
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= file_fields(annotation, prefix_of)
    return found


def ssh_key(body: str) -> str:
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"


# Another valid content for each kind of file, by its check.
OTHER = {
    check_password_line: "another-password\n",
    check_hash_line: hash_password("another") + "\n",
    check_ssh_private_key: ssh_key("QW5vdGhlcktleQ=="),
    None: "-----BEGIN CERTIFICATE-----\nchanged\n",
    check_credentials: "dns_rfc2136_secret = another\n",
}


def write(folder: Path, name: str, content: str) -> str:
    path = folder / name
    path.write_text(content)
    path.chmod(0o600)
    return str(path)


def tls_sources(folder: Path) -> list[dict[str, Any]]:
    """The TLS settings with files: uploaded ones, and ACME's (one source at a time)."""
    return [
        {
            "source": "files",
            "cert_file": write(folder, "mail.crt", "-----BEGIN CERTIFICATE-----\nmail\n"),
            "key_file": write(folder, "mail.key", "-----BEGIN PRIVATE KEY-----\nmail\n"),
        },
        {
            "source": "acme",
            "acme": {
                "email": "postmaster@yourdomain.com",
                "dns_plugin": "rfc2136",
                "credentials_file": write(folder, "acme.ini", "dns_rfc2136_secret = one\n"),
                "server_ca_file": write(folder, "acme-ca.pem", "-----BEGIN CERTIFICATE-----\nacme\n"),
            },
        },
    ]


def every_file(sample: dict[str, Any], folder: Path, tls: dict[str, Any]) -> dict[str, Any]:
    return dict(
        sample,
        smarthost=dict(sample["smarthost"], ca_file=write(folder, "ca.pem", "-----BEGIN CERTIFICATE-----\nca\n")),
        tls=tls,
        backup={
            "repository": "sftp:backup@nas.example.test:/backups/february",
            "password_file": write(folder, "restic.password", "restic-password\n"),
            "ssh_key_file": write(folder, "backup_key", ssh_key("S2V5")),
        },
    )


def deploy_digest(settings: Settings) -> str:
    """As deploy.py computes it."""
    return wanted_digest(settings_json(settings), read_secrets(settings).stamp_values())


def test_every_local_file_of_the_settings_moves_the_wanted_digest(sample: dict[str, Any], tmp_path: Path) -> None:
    variants = [load_settings(every_file(sample, tmp_path, tls)) for tls in tls_sources(tmp_path)]
    mailbox = "mailboxes.you@yourdomain.com."
    keys = {file.key.replace(mailbox, "mailboxes.*.") for settings in variants for file in secret_files(settings)}
    assert keys == file_fields(Settings), "a file field of the model is not set in every_file(): set it so its digest is tested"
    for settings in variants:
        before = deploy_digest(settings)
        assert deploy_digest(settings) == before
        for file in secret_files(settings):
            original = file.path.read_text()
            file.path.write_text(OTHER[file.parse])
            assert deploy_digest(settings) != before, f"{file.key} changed and the digest did not"
            file.path.write_text(original)
        assert deploy_digest(settings) == before
