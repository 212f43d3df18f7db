"""TLS material for a local cluster: one CA, and a key + certificate per node.

Generated with ``cryptography`` (no keytool, no openssl binary) as PEM, which Cassandra 5.0 reads
through ``PEMBasedSslContextFactory``. Each node certificate names the node's IP address as a
subject alternative name, so clients and peers can verify the host as well as the chain. The CA
certificate is what the cluster reports as ``ca_path``.

The certificates themselves come from the project's one builder, :mod:`cqltest.certs`; this
module only puts them in files (its names are re-exported for the callers that write files).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cqltest.certs import (
    SERVER_AND_CLIENT,
    CertifiedKey,
    certificate_pem,
    issue,
    new_ca,
    private_pem,
    subject,
)
from cqltest.errors import InputError
from cqltest.local.topology import KEYSTORE_FILE, TRUSTSTORE_FILE

__all__ = [
    "SERVER_AND_CLIENT",
    "CertifiedKey",
    "certificate_pem",
    "issue",
    "new_ca",
    "private_pem",
    "subject",
]


def load_ca(ca_path: Path, ca_key_path: Path) -> CertifiedKey:
    """The CA written by ``create_ca`` (or any EC CA in PEM), to issue more certificates."""
    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca_key_path} is not an EC private key")
    return ca_cert, ca_key


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
