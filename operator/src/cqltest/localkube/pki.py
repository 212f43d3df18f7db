"""The certificates and kubeconfigs of one control plane, issued by ``cqltest.local.certs``.

Three separate trust roots, as envtest and kubeadm keep them: a serving CA for the apiserver's
certificate, a client CA for the users it authenticates (the admin is in ``system:masters``,
so it bypasses RBAC, as the admin of a throwaway cluster should), and the ServiceAccount
signing key. Everything is a file in one directory, so a later CLI invocation (``localkube
down``, ``status``) finds it again with :meth:`Pki.at`.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from cqltest.local import certs


@dataclass(frozen=True)
class Pki:
    """File paths of everything the apiserver and its clients need to trust each other."""

    serving_ca: Path
    serving_cert: Path
    serving_key: Path
    client_ca: Path
    client_ca_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public: Path
    sa_private: Path

    @classmethod
    def at(cls, directory: Path) -> Pki:
        """The paths :meth:`generate` writes in ``directory`` (no file is read)."""
        return cls(
            serving_ca=directory / "serving-ca.crt",
            serving_cert=directory / "apiserver.crt",
            serving_key=directory / "apiserver.key",
            client_ca=directory / "client-ca.crt",
            client_ca_key=directory / "client-ca.key",
            admin_cert=directory / "admin.crt",
            admin_key=directory / "admin.key",
            sa_public=directory / "sa.pub",
            sa_private=directory / "sa.key",
        )

    @classmethod
    def generate(cls, directory: Path, *, admin_user: str = "admin") -> Pki:
        """Write a fresh serving CA, client CA, admin certificate and SA key pair."""
        pki = cls.at(directory)
        serving_ca = certs.new_ca(certs.subject("cqltest-serving-ca"))
        serving = certs.issue(
            serving_ca,
            certs.subject("localhost", ()),
            sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))],
            usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        )
        client_ca = certs.new_ca(certs.subject("cqltest-client-ca"))
        admin = certs.issue(
            client_ca,
            certs.subject(admin_user, ("system:masters",)),
            usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        sa_key = ec.generate_private_key(ec.SECP256R1())
        pem, key_pem = certs.certificate_pem, certs.private_pem
        files: dict[Path, bytes] = {
            pki.serving_ca: pem(serving_ca[0]),
            pki.serving_cert: pem(serving[0]),
            pki.serving_key: key_pem(serving[1]),
            pki.client_ca: pem(client_ca[0]),
            pki.client_ca_key: key_pem(client_ca[1]),
            pki.admin_cert: pem(admin[0]),
            pki.admin_key: key_pem(admin[1]),
            pki.sa_public: sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            pki.sa_private: key_pem(sa_key),
        }
        for path, data in files.items():
            certs.write_private(path, data)
        return pki

    def issue_client(self, user: str, groups: Sequence[str] = ()) -> tuple[Path, Path]:
        """A client certificate for `user` in `groups` (CN and O, as the apiserver reads them).

        For callers that must go through RBAC, e.g. as the operator's ServiceAccount-like user
        bound to the chart's ClusterRole, instead of the all-powerful admin.
        """
        cert, key = certs.issue(
            certs.load_ca(self.client_ca, self.client_ca_key),
            certs.subject(user, groups),
            usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        stem = "".join(c if c.isalnum() else "-" for c in user)
        cert_path = self.client_ca.parent / f"user-{stem}.crt"
        key_path = self.client_ca.parent / f"user-{stem}.key"
        cert_path.write_bytes(certs.certificate_pem(cert))
        certs.write_private(key_path, certs.private_pem(key))
        return cert_path, key_path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(
    path: Path, server: str, ca: Path, cert: Path, key: Path, name: str = "cqltest"
) -> None:
    """One cluster, one user, one context, all named `name`, certificates embedded (so the file
    can be copied elsewhere and still works)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}
        ],
        "users": [
            {
                "name": name,
                "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)},
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
