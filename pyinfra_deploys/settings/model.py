"""The February settings model: every option typed, defaulted and described.

The defaults are the seed article's values. A site sets what differs in
``inventory/group_data/all.py`` (key ``february``); an inventory group may
layer overrides on top (key ``february_overrides``, merged key by key).
Unknown keys are errors, as in NixOS options.

Secrets are never values here, only paths to files that are never committed
(``password_file``, ``hashed_password_file``), read when the deploy runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pyinfra_deploys.settings.types import Address, Domain, HostPort, Network, PasswordHash, SpfSource


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mailbox(Strict):
    """A virtual mailbox, keyed by its address in ``mailboxes``."""

    hashed_password: PasswordHash | None = Field(
        None, description="A crypt hash ({SHA512-CRYPT}$6$...). Lands in the repo if set here: prefer hashed_password_file."
    )
    hashed_password_file: Path | None = Field(None, description="File holding the hash; kept out of the repo.")

    @model_validator(mode="after")
    def _one_password_source(self) -> Mailbox:
        if (self.hashed_password is None) == (self.hashed_password_file is None):
            raise ValueError("set exactly one of hashed_password or hashed_password_file")
        return self


class Smarthost(Strict):
    """The relay for all outbound mail (the seed: Fastmail on 587 with SASL)."""

    host: str = Field(description="Relay host name or IP; bracketed in relayhost so no MX lookup happens.", examples=["smtp.fastmail.com"])
    port: int = Field(587, ge=1, le=65535)
    username: str = Field(min_length=1, description="SASL login at the relay.")
    password_file: Path = Field(description="File holding the SASL password (never committed).")
    spf_include: SpfSource | None = Field(
        None,
        description="Who sends for the relay, authorised in each domain's SPF: a domain (include:, e.g. "
        "spf.messagingengine.com for Fastmail) or an IP network (ip4:/ip6:). `february dns` needs it: "
        "every outbound message leaves through the relay, so without it relayed mail fails SPF.",
        examples=["spf.messagingengine.com"],
    )


class Tls(Strict):
    """Where the certificate for SMTP and IMAPS comes from."""

    source: Literal["self-signed", "files"] = Field("self-signed", description="'self-signed': made on the host once; 'files': uploaded.")
    cert_file: Path | None = Field(None, description="Local PEM certificate (chain) to upload when source is 'files'.")
    key_file: Path | None = Field(None, description="Local PEM private key to upload when source is 'files'.")

    @model_validator(mode="after")
    def _files_given(self) -> Tls:
        if self.source == "files" and (self.cert_file is None or self.key_file is None):
            raise ValueError("source 'files' needs both cert_file and key_file")
        return self


class Rspamd(Strict):
    milter: HostPort = Field("127.0.0.1:11332", description="Where the rspamd_proxy milter listens; Postfix connects here.")
    dkim_selector: str = Field("february", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="DKIM selector for every domain.")
    offline: bool = Field(False, description="Turn off modules that need the internet (DNS blocklists, remote maps, fuzzy).")
    nameservers: list[str] = Field(default_factory=list, description="Resolvers for Rspamd; empty means /etc/resolv.conf.")
    test_patterns: bool = Field(
        False, description="Honour the GTUBE variants that force 'add header' (YJS...) and others, for end-to-end tests."
    )


class Dns(Strict):
    """What `february dns` publishes beside MX, SPF and DKIM: the DMARC policy."""

    dmarc_policy: Literal["none", "quarantine", "reject"] = Field(
        "quarantine", description="What receivers do with mail that fails DMARC (p=)."
    )
    dmarc_rua: Address | None = Field(None, description="Where aggregate reports go (rua=mailto:); default postmaster@<domain>.")


class Firewall(Strict):
    enabled: bool = True
    ssh_port: int = Field(22, ge=1, le=65535)
    ssh_from: list[Network] = Field(default_factory=list, description="Networks allowed to SSH; empty means anywhere.")


class Settings(Strict):
    """Everything a February mail host is; the rest is derived."""

    hostname: Domain = Field("mail.example.test", description="The host's FQDN (myhostname).")
    domain: Domain = Field("example.test", description="The primary mail domain (mydomain, myorigin).")
    mailname: Domain | None = Field(None, description="/etc/mailname; defaults to hostname, as the installer writes it.")
    mydestination: list[str] = Field(
        default_factory=lambda: ["$myhostname", "localhost.$mydomain", "localhost"],
        description="Domains delivered locally; must not overlap virtual_domains (mail loop).",
    )
    virtual_domains: list[Domain] = Field(default_factory=list, description="Domains whose mail Dovecot stores; default [domain].")
    mailboxes: dict[Address, Mailbox] = Field(default_factory=dict)
    aliases: dict[Address, list[Address]] = Field(default_factory=dict, description="Alias address to target addresses.")
    submission_networks: list[Network] = Field(
        default_factory=lambda: ["192.168.1.0/24", "10.10.0.0/24"],
        description="LAN and VPN ranges allowed to reach submission (587) and IMAPS (993).",
    )
    mynetworks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "[::1]/128"])
    inet_protocols: Literal["ipv4", "ipv6", "all"] = "ipv4"
    smarthost: Smarthost | None = Field(None, description="Relay for outbound mail; None delivers directly to MX hosts.")
    tls: Tls = Field(default_factory=Tls)
    message_size_limit: int = Field(52428800, ge=1024 * 1024)
    banner: str = Field("$myhostname ESMTP", min_length=1)
    rspamd: Rspamd = Field(default_factory=Rspamd)
    dns: Dns = Field(default_factory=Dns)
    firewall: Firewall = Field(default_factory=Firewall)
    apt_proxy: str | None = Field(None, pattern=r"^https?://", description="HTTP proxy for apt (a package cache).")

    # ----- derived values: what the templates and roles use -----

    @property
    def effective_mailname(self) -> str:
        return self.mailname or self.hostname

    @property
    def served_domains(self) -> list[str]:
        return self.virtual_domains or [self.domain]

    def expanded_mydestination(self) -> list[str]:
        """mydestination with $myhostname and $mydomain replaced, lowercased."""
        return [
            entry.replace("$myhostname", self.hostname).replace("$mydomain", self.domain).lower()
            for entry in self.mydestination
        ]

    @property
    def relayhost(self) -> str:
        return f"[{self.smarthost.host}]:{self.smarthost.port}" if self.smarthost else ""

    @property
    def milter(self) -> str:
        return f"inet:{self.rspamd.milter}"
