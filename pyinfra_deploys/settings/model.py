"""The February settings model: every option typed, defaulted and described.

The defaults are the seed article's values. A site sets what differs in
``inventory/group_data/all.py`` (key ``february``); an inventory group may
layer overrides on top (key ``february_overrides``, merged key by key).
Unknown keys are errors, as in NixOS options.

Secrets are never values here, only paths to files that are never committed
(``password_file``, ``hashed_password_file``), read when the deploy runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from pyinfra_deploys import layout
from pyinfra_deploys.settings.types import (
    AcmeServer,
    Address,
    Banner,
    CertificateDays,
    CertificateFile,
    Clock,
    Concurrency,
    CredentialsFile,
    DelaySeconds,
    Destination,
    Domain,
    Flag,
    HashFile,
    Host,
    MessageSize,
    Milter,
    Nameserver,
    Network,
    OnCalendar,
    PasswordFile,
    PasswordHash,
    PerMinute,
    Port,
    PostfixNetwork,
    PrivateKeyFile,
    ProxyUrl,
    ResticRepository,
    Selector,
    SpfSource,
    SshKeyFile,
    Username,
)

# Mozilla's server-side TLS "intermediate" profile (5.7) for TLS 1.2, without
# its DHE suites (they need a DH parameters file and add nothing here).
MOZILLA_TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)
MOZILLA_CURVES = ("X25519", "prime256v1", "secp384r1")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mailbox(Strict):
    """A virtual mailbox, keyed by its address in ``mailboxes``."""

    hashed_password: PasswordHash | None = Field(
        None, description="A crypt hash ({SHA512-CRYPT}$6$...). Lands in the repo if set here: prefer hashed_password_file."
    )
    hashed_password_file: HashFile | None = Field(None, description="File holding the hash; kept out of the repo.")

    @model_validator(mode="after")
    def _one_password_source(self) -> Mailbox:
        if (self.hashed_password is None) == (self.hashed_password_file is None):
            raise ValueError("set exactly one of hashed_password or hashed_password_file")
        return self


class Smarthost(Strict):
    """The relay for all outbound mail (the seed: Fastmail on 587 with SASL)."""

    host: Host = Field(
        description="Relay host name or IP; bracketed in relayhost so no MX lookup happens.", examples=["smtp.fastmail.com"]
    )
    port: Port = Field(587, description="The relay's submission port (587: STARTTLS).")
    username: Username = Field(description="SASL login at the relay (no spaces, no ':').")
    password_file: PasswordFile = Field(description="File holding the SASL password (never committed).")
    spf_include: SpfSource | None = Field(
        None,
        description="Who sends for the relay, authorised in each domain's SPF: a domain (include:, e.g. "
        "spf.messagingengine.com for Fastmail) or an IP network (ip4:/ip6:). `february dns` needs it: "
        "every outbound message leaves through the relay, so without it relayed mail fails SPF.",
        examples=["spf.messagingengine.com"],
    )
    tls_verify: Literal["verify", "encrypt-only"] = Field(
        "verify",
        description="'verify': the relay's certificate must chain to a trusted CA (ca_file, else the system CAs) and "
        "name the relay host (smtp_tls_security_level = secure). 'encrypt-only': the seed's `encrypt`, TLS without "
        "checking who answers: anyone in the middle gets the relay password.",
    )
    ca_file: CertificateFile | None = Field(
        None,
        description="Local PEM file of the CA(s) that sign the relay's certificate (a private relay); uploaded to "
        f"{layout.SMARTHOST_CA} and trusted instead of the system CAs. None: the system CAs.",
    )

    @model_validator(mode="after")
    def _ca_file_needs_verify(self) -> Smarthost:
        if self.ca_file is not None and self.tls_verify != "verify":
            raise ValueError("ca_file is only used with tls_verify 'verify'; remove it or set tls_verify: verify")
        return self


# certbot's own DNS plugins that take a credentials file, as Ubuntu 24.04 packages them (python3-certbot-dns-NAME).
AcmeDnsPlugin = Literal["cloudflare", "digitalocean", "dnsimple", "gehirn", "google", "linode", "ovh", "rfc2136", "sakuracloud"]
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


class Acme(Strict):
    """A certificate from an ACME CA (Let's Encrypt by default) through certbot, with a DNS-01 challenge."""

    email: Address = Field(description="The ACME account's contact (expiry notices from the CA).")
    server: AcmeServer = Field(LETS_ENCRYPT, description="The CA's ACME directory URL (https).")
    dns_plugin: AcmeDnsPlugin = Field(
        description="certbot's DNS plugin for your DNS provider (package python3-certbot-dns-NAME); "
        "'rfc2136' for any server that takes signed dynamic updates (BIND, Knot, PowerDNS)."
    )
    credentials_file: CredentialsFile = Field(
        description="Local file with the plugin's credentials (its INI, or Google's JSON); a secret: mode 600, never committed."
    )
    propagation_seconds: StrictInt | None = Field(
        None,
        ge=0,
        le=3600,
        description="Seconds certbot waits for the TXT record to reach the provider's servers before the CA checks "
        "(0 to 3600). None: the plugin's default (60 for most).",
    )
    server_ca_file: CertificateFile | None = Field(
        None,
        description="Local PEM of the CA that signs a private ACME server's HTTPS certificate (a lab CA). "
        "None: the system CAs (Let's Encrypt and other public CAs).",
    )


class Tls(Strict):
    """Where the certificate for SMTP and IMAPS comes from."""

    source: Literal["self-signed", "files", "acme"] = Field(
        "self-signed",
        description="'self-signed': made on the host once; 'files': uploaded; 'acme': issued and renewed by certbot (see acme).",
    )
    acme: Acme | None = Field(None, description="The ACME account, CA and DNS plugin; needed with source 'acme'.")
    cert_file: CertificateFile | None = Field(None, description="Local PEM certificate (chain) to upload when source is 'files'.")
    key_file: PrivateKeyFile | None = Field(None, description="Local PEM private key to upload when source is 'files'.")
    profile: Literal["intermediate", "modern"] = Field(
        "intermediate",
        description="Mozilla server-side TLS profile on submission (587) and IMAPS (993). 'intermediate': TLS 1.2 "
        "(ECDHE with AES-GCM or ChaCha20-Poly1305 only) and 1.3; 'modern': TLS 1.3 only. Port 25 stays "
        "opportunistic for other mail servers (TLS 1.2+, no anonymous suites).",
    )
    self_signed_days: CertificateDays = Field(
        365,
        description="Life of the self-signed certificate (60 to 365 days); a converge renews it, same key, 30 days before its end.",
    )

    @property
    def ciphers(self) -> str:
        """The TLS 1.2 suites of Mozilla's intermediate profile without DHE, in OpenSSL's names."""
        return ":".join(MOZILLA_TLS12_CIPHERS)

    @property
    def curves(self) -> tuple[str, ...]:
        return MOZILLA_CURVES

    @property
    def min_protocol(self) -> str:
        return "TLSv1.3" if self.profile == "modern" else "TLSv1.2"

    @property
    def from_acme(self) -> bool:
        """certbot issues and renews the certificate (roles/acme.py); the converge does not observe it."""
        return self.source == "acme"

    @property
    def from_files(self) -> bool:
        """The site's own certificate and key files are placed."""
        return self.source == "files"

    @model_validator(mode="after")
    def _files_given(self) -> Tls:
        if self.source == "files" and (self.cert_file is None or self.key_file is None):
            raise ValueError("source 'files' needs both cert_file and key_file")
        if self.source != "files" and (self.cert_file is not None or self.key_file is not None):
            raise ValueError("cert_file and key_file are only used with source 'files'; remove them or set source: files")
        if (self.source == "acme") != (self.acme is not None):
            raise ValueError("source 'acme' needs acme (email, dns_plugin, credentials_file), and acme is only used with it")
        return self


class Limits(Strict):
    """Postfix anvil limits per client on port 25, and Dovecot's delay after a failed login (587 and 993)."""

    connections_per_minute: PerMinute = Field(30, description="smtpd_client_connection_rate_limit on port 25 (per client IP).")
    messages_per_minute: PerMinute = Field(60, description="smtpd_client_message_rate_limit on port 25 (per client IP).")
    concurrent_connections: Concurrency = Field(
        10, description="smtpd_client_connection_count_limit: simultaneous sessions per client IP on 25 (and on 587)."
    )
    auth_failure_delay: DelaySeconds = Field(
        2, description="Seconds Dovecot waits before answering a failed login (IMAPS and SMTP AUTH on 587); 0 to 15."
    )


class Updates(Strict):
    """Security updates with unattended-upgrades (security pocket only), services restarted by needrestart."""

    enabled: Flag = Field(True, description="Install security updates daily.")
    reboot: Flag = Field(True, description="Reboot when an update needs it (a new kernel or libc), at reboot_time.")
    reboot_time: Clock = Field("04:30", description="Time of day (HH:MM) for that reboot.")


class Rspamd(Strict):
    milter: Milter = Field(
        "127.0.0.1:11332",
        description="Where the rspamd_proxy milter listens, Postfix connects: a loopback address with a port, or a unix "
        f"socket in {layout.MILTER_SOCKET_DIR}/ (inside Postfix's chroot). Nothing beyond this host.",
    )
    dkim_selector: Selector = Field("february", description="DKIM selector for every domain.")
    offline: Flag = Field(False, description="Turn off modules that need the internet (DNS blocklists, remote maps, fuzzy).")
    nameservers: list[Nameserver] = Field(
        default_factory=list,
        description=f"Resolver IPs (optionally ip:port, [ipv6]:port) for Rspamd; empty means {layout.RESOLV_CONF}.",
    )
    test_patterns: Flag = Field(
        False, description="Honour the GTUBE variants that force 'add header' (YJS...) and others, for end-to-end tests."
    )

    @property
    def milter_socket(self) -> str | None:
        """The unix socket's path when the milter is one (types.Milter: an absolute path), else None (a loopback port)."""
        return self.milter if self.milter.startswith("/") else None

    @property
    def milter_port(self) -> int | None:
        """The loopback port when the milter is one (host:port, [ipv6]:port), else None (a unix socket)."""
        return None if self.milter_socket is not None else int(self.milter.rpartition(":")[2])


class Dns(Strict):
    """What `february dns` publishes beside MX, SPF and DKIM: the DMARC policy."""

    dmarc_policy: Literal["none", "quarantine", "reject"] = Field(
        "quarantine", description="What receivers do with mail that fails DMARC (p=)."
    )
    dmarc_rua: Address | None = Field(None, description="Where aggregate reports go (rua=mailto:); default postmaster@<domain>.")


class Generations(Strict):
    """The host's record of its managed files after each converge that changed one (`february generations`)."""

    keep: StrictInt = Field(10, ge=2, le=1000, description="Generations kept on the host; older ones are pruned.")
    confirm_seconds: StrictInt = Field(
        120,
        ge=30,
        le=3600,
        description="After `february deploy` or `rollback` switched the host and its checks passed, february must reach "
        "it over a new SSH connection within this many seconds (30 to 3600); otherwise the host puts the generation "
        "before back by itself. The longest a deploy that locked its owner out leaves them waiting.",
    )


class Firewall(Strict):
    """UFW: deny incoming but SSH, 25, and 587 and 993 from submission_networks; a deploy refuses rules that shut its deployer out."""

    enabled: Flag = Field(True, description="UFW on; turning it off needs i_accept_no_firewall: true as well.")
    i_accept_no_firewall: Flag = Field(False, description="Opt-in: allow enabled: false (every port open to the internet).")
    ssh_port: Port = Field(22, description="The port UFW opens for SSH (sshd must listen there).")
    ssh_from: list[Network] = Field(default_factory=list, description="Networks allowed to SSH; empty means anywhere.")


class Backup(Strict):
    """Nightly encrypted backups of the host's state with restic (layout.STATE_PATHS)."""

    repository: ResticRepository = Field(
        description="Where restic keeps the snapshots: an absolute path on the host (a USB disk or NAS mount), "
        "or sftp:user@host:/path (reached as root with ssh_key_file).",
        examples=["/srv/backup/february", "sftp:backup@nas.home.arpa:/backups/february"],
    )
    password_file: PasswordFile = Field(
        description="File holding the repository password (never committed); lose it and the backups are lost."
    )
    ssh_key_file: SshKeyFile | None = Field(None, description="Private key for an sftp: repository (never committed).")
    schedule: OnCalendar = Field("*-*-* 03:15:00", description="systemd OnCalendar expression for the backup timer.")
    keep_daily: StrictInt = Field(7, ge=0, le=3660, description="Daily snapshots kept (restic forget --keep-daily).")
    keep_weekly: StrictInt = Field(4, ge=0, le=520, description="Weekly snapshots kept.")
    keep_monthly: StrictInt = Field(6, ge=0, le=1200, description="Monthly snapshots kept.")

    @model_validator(mode="after")
    def _sftp_needs_a_key(self) -> Backup:
        if self.repository.startswith("sftp:") and self.ssh_key_file is None:
            raise ValueError("an sftp: repository needs ssh_key_file (the key root uses to reach it)")
        if self.keep_daily + self.keep_weekly + self.keep_monthly == 0:
            raise ValueError("keep_daily, keep_weekly and keep_monthly are all 0: every snapshot would be pruned")
        return self


class Settings(Strict):
    """Everything a February mail host is; the rest is derived."""

    hostname: Domain = Field(description="The host's FQDN (myhostname).")
    domain: Domain = Field(description="The primary mail domain (mydomain, myorigin).")
    mailname: Domain | None = Field(None, description=f"{layout.MAILNAME}; defaults to hostname, as the installer writes it.")
    mydestination: list[Destination] = Field(
        default_factory=lambda: ["$myhostname", "localhost.$mydomain", "localhost"],
        description="Domains delivered locally; must not overlap virtual_domains (mail loop).",
    )
    virtual_domains: list[Domain] = Field(
        default_factory=list, description="Domains whose mail Dovecot stores; default [domain]."
    )
    mailboxes: dict[Address, Mailbox] = Field(default_factory=dict, description="Virtual mailboxes, keyed by address.")
    aliases: dict[Address, list[Address]] = Field(default_factory=dict, description="Alias address to target addresses.")
    submission_networks: list[Network] = Field(
        default_factory=lambda: ["192.168.1.0/24", "10.10.0.0/24"],
        description="LAN and VPN ranges allowed to reach submission (587) and IMAPS (993).",
    )
    allow_public_submission_networks: Flag = Field(
        False, description="Opt-in: allow submission_networks beyond private, loopback and ULA ranges (e.g. 0.0.0.0/0)."
    )
    mynetworks: list[PostfixNetwork] = Field(
        default_factory=lambda: ["127.0.0.0/8", "[::1]/128"],
        description="Clients Postfix relays for without AUTH; IPv6 is written [::1]/128 (plain ::1/128 is accepted).",
    )
    allow_public_mynetworks: Flag = Field(
        False, description="Opt-in: allow mynetworks beyond private, loopback and ULA ranges (an open relay for them)."
    )
    inet_protocols: Literal["ipv4", "ipv6", "all"] = Field("ipv4", description="The IP versions Postfix uses (inet_protocols).")
    smarthost: Smarthost | None = Field(None, description="Relay for outbound mail; None delivers directly to MX hosts.")
    tls: Tls = Field(default_factory=Tls)
    limits: Limits = Field(default_factory=Limits)
    updates: Updates = Field(default_factory=Updates)
    message_size_limit: MessageSize = Field(52428800, description="Bytes, from 1 MiB to 2 GiB.")
    banner: Banner = Field("$myhostname ESMTP", description="smtpd_banner: '$myhostname' or the host name, a space, then text.")
    rspamd: Rspamd = Field(default_factory=Rspamd)
    dns: Dns = Field(default_factory=Dns)
    firewall: Firewall = Field(default_factory=Firewall)
    generations: Generations = Field(default_factory=Generations)
    backup: Backup | None = Field(None, description="Scheduled restic backups of the mail, DKIM and TLS state; None: no backups.")
    apt_proxy: ProxyUrl | None = Field(None, description="HTTP proxy for apt (a package cache): http(s)://host[:port][/path].")

    @field_validator("mailboxes", "aliases", mode="before")
    @classmethod
    def _no_case_duplicates(cls, value: Any) -> Any:
        """Addresses are lowercased; two keys that differ only in case would silently become one."""
        if isinstance(value, dict):
            seen: dict[str, str] = {}
            for key in value:
                if isinstance(key, str):
                    if key.lower() in seen:
                        raise ValueError(
                            f"{seen[key.lower()]!r} and {key!r} are the same address (addresses ignore case); keep one"
                        )
                    seen[key.lower()] = key
        return value

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
            entry.replace("$myhostname", self.hostname).replace("$mydomain", self.domain).lower() for entry in self.mydestination
        ]

    @property
    def relayhost(self) -> str:
        return f"[{self.smarthost.host}]:{self.smarthost.port}" if self.smarthost else ""

    @property
    def smtp_ca_file(self) -> str:
        """The CAs the smtp client trusts: the relay's own CA when given, else the system bundle.

        A CAfile (not a CApath) is read before the smtp client enters its chroot.
        """
        return layout.SMARTHOST_CA if self.relay_ca_uploaded else layout.SYSTEM_CA

    @property
    def relay_ca_uploaded(self) -> bool:
        """Whether the relay's own CA file is placed on the host (smarthost.ca_file given)."""
        return self.smarthost is not None and self.smarthost.ca_file is not None

    @property
    def milter(self) -> str:
        """The milter as Postfix names it; a unix socket relative to its chroot (smtpd and cleanup run in it)."""
        if self.rspamd.milter_socket is not None:
            return f"unix:{self.rspamd.milter_socket.removeprefix(layout.POSTFIX_CHROOT)}"
        return f"inet:{self.rspamd.milter}"
