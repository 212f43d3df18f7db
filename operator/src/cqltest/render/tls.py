"""TLS material for a provisioned cluster, as the Secrets its K8ssandraCluster references.

The operator generates it with ``cryptography`` (no cert-manager, no keytool) and applies the
Secrets, owned by the TestRun, *before* installing the cluster's release: k8ssandra-operator reads
the store passwords before it creates a datacenter. One CA per run signs a client leaf and an
internode leaf; suites trust the CA, which they read from ``<run>-ca`` (key ``ca.crt``).

The store Secrets have K8ssandra's default keys (``keystore``, ``truststore``,
``keystore-password``, ``truststore-password``) and PEM contents, which Cassandra 5 reads with
``PEMBasedSslContextFactory`` (the chart selects it):

- ``keystore``: the leaf's private key, then its certificate chain (leaf, CA);
- ``truststore``: the CA certificate;
- ``keystore-password``: the private key's password. K8ssandra always copies it into
  ``keystore_password``, and Cassandra then *decrypts* the PEM key with it, so the key is an
  encrypted PKCS#8 key. The scheme is PBES1 ``pbeWithSHAAnd3-KeyTripleDES-CBC``, because JDK 17's
  ``SecretKeyFactory`` has no PBES2, the scheme ``cryptography`` writes; the password sits in the
  same Secret, so the scheme protects nothing and only has to be readable;
- ``truststore-password``: empty; Cassandra ignores passwords on PEM truststores.

Leaf certificates name the datacenters' Services as DNS subject alternative names. Hostname
verification is off on both sides anyway (internode: the CA pins the peers; suites: the driver
connects by pod address), as in k8ssandra's own tests.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, modes

# The project's one certificate builder. It is pure but lives in cqltest.local, so this import
# is the layering contracts' one listed exception (pyproject.toml) until it moves out.
from cqltest import certs
from cqltest.engine.names import LABEL_TESTRUN, label_value
from cqltest.model import ClusterSpec
from cqltest.render.cluster import (
    TlsSecrets,
    cluster_name,
    datacenter_service,
    fit_name,
)

CA_KEY = "ca.crt"
KEYSTORE = "keystore"
TRUSTSTORE = "truststore"
KEYSTORE_PASSWORD = "keystore-password"
TRUSTSTORE_PASSWORD = "truststore-password"
SECRET_NAME_LIMIT = 253
CLUSTER_DOMAIN = "cluster.local"

# pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C), DER-encoded OID 1.2.840.113549.1.12.1.3.
_PBE_3DES_OID = bytes.fromhex("060a2a864886f70d010c0103")
_PBE_ITERATIONS = 2048
_SHA1_BLOCK = 64
_SHA1_SIZE = 20


def secret_names(run_name: str, cluster: ClusterSpec) -> TlsSecrets | None:
    """The Secrets a run's TLS settings need, or None when the cluster uses no TLS."""
    tls = cluster.security.tls
    if not (tls.client or tls.internode):
        return None

    def name(suffix: str) -> str:
        return fit_name(f"{run_name}-{suffix}", SECRET_NAME_LIMIT, run_name)

    return TlsSecrets(
        ca=name("ca"),
        client=name("client-stores") if tls.client else None,
        internode=name("internode-stores") if tls.internode else None,
    )


def service_names(cluster: str, datacenters: Iterable[str], namespace: str) -> list[str]:
    """DNS names of a cluster's per-DC Services and pods, short and fully qualified."""
    names = []
    for dc in datacenters:
        service = datacenter_service(cluster, dc)
        names += [service, f"{service}.{namespace}", f"{service}.{namespace}.svc"]
        names += [f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"]
        names += [f"*.{service}.{namespace}.svc.{CLUSTER_DOMAIN}"]
        names += [f"*.{cluster}-{dc}-all-pods-service.{namespace}.svc.{CLUSTER_DOMAIN}"]
    return names


def _pkcs12_kdf(password: bytes, salt: bytes, purpose: int, size: int) -> bytes:
    """RFC 7292 appendix B.2 key derivation with SHA-1 (purpose 1: key, 2: IV)."""

    def stretch(data: bytes) -> bytes:
        blocks = -(-len(data) // _SHA1_BLOCK)
        return (data * blocks * _SHA1_BLOCK)[: blocks * _SHA1_BLOCK]

    secret = password.decode("ascii").encode("utf-16-be") + b"\0\0"  # a BMPString
    data = bytearray(stretch(salt) + stretch(secret))
    derived = b""
    while len(derived) < size:
        digest = bytes([purpose]) * _SHA1_BLOCK + bytes(data)
        for _ in range(_PBE_ITERATIONS):
            digest = hashlib.sha1(digest).digest()
        derived += digest
        repeated = digest * -(-_SHA1_BLOCK // _SHA1_SIZE)
        increment = int.from_bytes(repeated[:_SHA1_BLOCK], "big") + 1
        for start in range(0, len(data), _SHA1_BLOCK):
            block = int.from_bytes(data[start : start + _SHA1_BLOCK], "big") + increment
            data[start : start + _SHA1_BLOCK] = (block % (1 << 8 * _SHA1_BLOCK)).to_bytes(
                _SHA1_BLOCK, "big"
            )
    return derived[:size]


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes(-(-size.bit_length() // 8), "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def encrypted_private_pem(key: ec.EllipticCurvePrivateKey, password: str) -> bytes:
    """The key as an ``ENCRYPTED PRIVATE KEY`` PEM that Cassandra's ``PEMReader`` decrypts."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = os.urandom(8)
    secret = password.encode()
    cipher = Cipher(
        TripleDES(_pkcs12_kdf(secret, salt, 1, 24)), modes.CBC(_pkcs12_kdf(secret, salt, 2, 8))
    ).encryptor()
    padder = padding.PKCS7(64).padder()
    encrypted = cipher.update(padder.update(plain) + padder.finalize()) + cipher.finalize()
    iterations = _PBE_ITERATIONS.to_bytes(3, "big").lstrip(b"\0")
    params = _der(0x30, _der(0x04, salt) + _der(0x02, iterations))
    info = _der(0x30, _der(0x30, _PBE_3DES_OID + params) + _der(0x04, encrypted))
    body = base64.encodebytes(info).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "\n".join(["-----BEGIN ENCRYPTED PRIVATE KEY-----", *lines])
    return f"{pem}\n-----END ENCRYPTED PRIVATE KEY-----\n".encode()


def _secret(
    name: str, namespace: str, data: Mapping[str, bytes], labels: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }


def _stores(ca: certs.CertifiedKey, common_name: str, sans: Sequence[str]) -> dict[str, bytes]:
    cert, key = certs.issue(
        ca,
        certs.subject(common_name),
        sans=[x509.DNSName(name) for name in sans],
    )
    password = secrets.token_hex(16)
    ca_pem = certs.certificate_pem(ca[0])
    return {
        KEYSTORE: encrypted_private_pem(key, password) + certs.certificate_pem(cert) + ca_pem,
        TRUSTSTORE: ca_pem,
        KEYSTORE_PASSWORD: password.encode(),
        TRUSTSTORE_PASSWORD: b"",
    }


def tls_secrets(run_name: str, namespace: str, cluster: ClusterSpec) -> list[dict[str, Any]]:
    """The Secret manifests of a run's TLS material (empty when the cluster uses no TLS).

    Fresh keys on every call: the operator creates them once, before the release, and keeps
    them (it must never replace stores a running cluster uses).
    """
    names = secret_names(run_name, cluster)
    if names is None:
        return []
    kluster = cluster_name(run_name, cluster)
    ca = certs.new_ca(certs.subject(f"cqltest CA {kluster}"))
    sans = service_names(kluster, [dc.name for dc in cluster.datacenters], namespace)
    labels = {LABEL_TESTRUN: label_value(run_name)}
    manifests = [_secret(names.ca, namespace, {CA_KEY: certs.certificate_pem(ca[0])}, labels)]
    for store, role in ((names.client, "client"), (names.internode, "internode")):
        if store is not None:
            data = _stores(ca, f"{kluster} {role}", sans)
            manifests.append(_secret(store, namespace, data, labels))
    return manifests
