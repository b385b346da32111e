"""A throwaway self-signed certificate for the fake smarthost's STARTTLS.

The smarthost must speak real TLS so the VM's Postfix exercises the same
``smtp_tls_security_level`` path it uses against the real provider; any
certificate will do, as long as it is valid for the name the tests use. It
is regenerated only when missing or unusable, so a running VM keeps seeing
the same certificate (and a pinned fingerprint stays right) across runs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Regenerate a certificate this close to expiry, so a test run never starts
# with one that lapses half-way through.
_MIN_REMAINING = dt.timedelta(days=1)


def _san_entry(common_name: str) -> x509.GeneralName:
    """An IP SAN for an address, a DNS SAN for anything else (clients match them differently)."""
    try:
        return x509.IPAddress(ipaddress.ip_address(common_name))
    except ValueError:
        return x509.DNSName(common_name)


def _is_usable(cert_path: Path, key_path: Path, common_name: str) -> bool:
    """True if the pair exists, parses, matches, covers common_name and is not about to expire."""
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound):
        return False
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        return False
    if _san_entry(common_name) not in san:
        return False
    now = dt.datetime.now(dt.UTC)
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > _MIN_REMAINING


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temp file created with its final mode, so a key is never briefly world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # the umask or a leftover temp file may have changed it
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def self_signed(cert_path: Path | str, key_path: Path | str, common_name: str, days: int = 30) -> bool:
    """Make a self-signed EC P-256 certificate for common_name (CN and SAN); key 0600.

    Does nothing if both files already hold a usable pair for common_name
    (matching key, SAN covering the name, more than a day left). Returns
    True if it wrote a new pair, False if it kept the existing one.
    """
    cert_path, key_path = Path(cert_path), Path(key_path)
    if _is_usable(cert_path, key_path, common_name):
        return False

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        # Backdated a little so a VM whose clock lags the host still accepts it.
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san_entry(common_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_atomic(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return True


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _issued_by(cert_path: Path, ca_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        cert.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    return True


def make_ca(ca_cert: Path | str, ca_key: Path | str, name: str = "February test CA", days: int = 3650) -> bool:
    """Make a CA (EC P-256, key 0600) unless ``ca_cert`` already holds a usable one; True if it wrote one."""
    ca_cert, ca_key = Path(ca_cert), Path(ca_key)
    if _issued_by(ca_cert, ca_cert) and _is_usable_pair(ca_cert, ca_key):
        return False
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key_and_cert(ca_cert, ca_key, key, cert)
    return True


def _is_usable_pair(cert_path: Path, key_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    now = dt.datetime.now(dt.UTC)
    return (
        key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)
        and cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc - now > _MIN_REMAINING
    )


def _write_key_and_cert(cert_path: Path, key_path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_atomic(key_path, pkcs8, 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ca_signed(
    cert_path: Path | str, key_path: Path | str, ca_cert: Path | str, ca_key: Path | str, names: list[str], days: int = 30
) -> bool:
    """A server certificate for ``names`` (DNS or IP SANs; CN the first) signed by the CA.

    Kept when it is usable for the first name, covers every name and was
    issued by this CA; True if it wrote a new one.
    """
    cert_path, key_path, ca_cert, ca_key = Path(cert_path), Path(key_path), Path(ca_cert), Path(ca_key)
    if _is_usable(cert_path, key_path, names[0]) and _issued_by(cert_path, ca_cert):
        san = (
            x509.load_pem_x509_certificate(cert_path.read_bytes())
            .extensions.get_extension_for_class(x509.SubjectAlternativeName)
            .value
        )
        if all(_san_entry(name) in san for name in names):
            return False
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san_entry(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )
    _write_key_and_cert(cert_path, key_path, key, cert)
    return True
