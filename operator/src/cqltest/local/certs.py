"""TLS material for a local cluster: one CA, and a key + certificate per node.

Generated with ``cryptography`` (no keytool, no openssl binary) as PEM, which Cassandra 5.0 reads
through ``PEMBasedSslContextFactory``. Each node certificate names the node's IP address as a
subject alternative name, so clients and peers can verify the host as well as the chain. The CA
certificate is what the cluster reports as ``ca_path``.

``new_ca`` and ``issue`` (a leaf for given names, SANs and key usages) are the one certificate
builder of the project: the tests' Kubernetes control plane issues its serving and client
certificates with them too.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cqltest.errors import InputError
from cqltest.local.topology import KEYSTORE_FILE, TRUSTSTORE_FILE

_VALIDITY = datetime.timedelta(days=365)
#: Tolerates small clock differences between the machine that issues and the JVM that checks.
_BACKDATE = datetime.timedelta(hours=1)


CertifiedKey = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
"""A certificate and its private key; a CA's signs the certificates ``issue`` makes."""

#: Both: a node's certificate serves clients and, for internode TLS, dials peers.
SERVER_AND_CLIENT = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)


def subject(common_name: str, organizations: Sequence[str] = ("cqltest",)) -> x509.Name:
    """O=<each organization>, CN=<common_name>; the Kubernetes apiserver reads O as groups."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    name: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
    )


def new_ca(name: x509.Name) -> CertifiedKey:
    """A self-signed CA that signs leaf certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(
    ca: CertifiedKey,
    name: x509.Name,
    *,
    sans: Sequence[x509.GeneralName] = (),
    usages: Sequence[x509.ObjectIdentifier] = SERVER_AND_CLIENT,
) -> CertifiedKey:
    """A leaf certificate for ``name`` signed by ``ca``, valid for ``sans`` and ``usages``."""
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(name, ca_cert.subject, key).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    cert = (
        builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def load_ca(ca_path: Path, ca_key_path: Path) -> CertifiedKey:
    """The CA written by ``create_ca`` (or any EC CA in PEM), to issue more certificates."""
    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca_key_path} is not an EC private key")
    return ca_cert, ca_key


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Unencrypted PKCS#8: PEMBasedSslContextFactory needs no keystore password for it.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a private key's file, readable by its owner only from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(data)


def create_ca(directory: Path, cluster_name: str) -> tuple[Path, Path]:
    """Write ``ca.pem`` (certificate) and ``ca-key.pem`` into ``directory``; return both paths."""
    cert, key = new_ca(subject(f"cqltest CA {cluster_name}"))
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.pem"
    ca_key_path = directory / "ca-key.pem"
    ca_path.write_bytes(certificate_pem(cert))
    write_private(ca_key_path, private_pem(key))
    return ca_path, ca_key_path


def create_node_keystore(ca_path: Path, ca_key_path: Path, address: str, target: Path) -> Path:
    """Write the node's PEM keystore (private key, then its certificate, then the CA's)."""
    ca = load_ca(ca_path, ca_key_path)
    cert, key = issue(ca, subject(address), sans=[x509.IPAddress(ipaddress.ip_address(address))])
    write_private(target, private_pem(key) + certificate_pem(cert) + certificate_pem(ca[0]))
    return target


def copy_stores(source: Path, target: Path) -> tuple[Path, Path]:
    """Copy a given store directory's ``keystore.pem`` and ``truststore.pem`` into ``target``
    (the cluster's own directory, so the cluster outlives the caller's files); return both."""
    copied = []
    for filename in (KEYSTORE_FILE, TRUSTSTORE_FILE):
        try:
            data = (source / filename).read_bytes()
        except OSError as exc:
            raise InputError(f"TLS store {source / filename} cannot be read: {exc}") from exc
        write_private(target / filename, data)
        copied.append(target / filename)
    return copied[0], copied[1]
