"""The encryption-store Secrets' bytes → the PEM files local Cassandra nodes read.

Real K8ssandra mounts JKS or PKCS12 stores into the pod; local nodes use Cassandra 5's
``PEMBasedSslContextFactory`` (no keytool on the machine, no JKS reader in Python). So the
accepted formats are defined here, and anything else is refused with a message saying what to
give instead:

* PEM (preferred): the keystore holds the private key (PKCS#8 or traditional, encrypted with
  the keystore password or not) and its certificate chain; the truststore holds CA
  certificates;
* PKCS12 (cert-manager's ``keystore.p12``/``truststore.p12``), opened with the passwords.

JKS and JCEKS are refused. Output is an unencrypted PKCS#8 key followed by the chain, and the
CA certificates: what ``cqltest.local`` takes as given stores. Pure, unit-tested.
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from cqltest.localkube.k8ssandra.translate import SpecError

_JAVA_STORES = {b"\xfe\xed\xfe\xed": "JKS", b"\xce\xce\xce\xce": "JCEKS"}
_PEM_BEGIN = b"-----BEGIN "
#: PKCS#8 (plain or ENCRYPTED) and traditional (RSA, EC) private key blocks.
_PEM_KEY = re.compile(rb"-----BEGIN ([A-Z ]*PRIVATE KEY)-----.*?-----END \1-----", re.DOTALL)


def _refuse_java(data: bytes, where: str) -> None:
    kind = _JAVA_STORES.get(data[:4])
    if kind is not None:
        raise SpecError(
            f"{where} is a {kind} store; localkube's Cassandra nodes read PEM (key + certificate "
            "chain, CA certificates) or PKCS12: convert it, e.g. with "
            "keytool -importkeystore -deststoretype PKCS12"
        )


def _password(password: str | None) -> bytes | None:
    return password.encode() if password else None


def _pem(chain: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)


def _pem_certificates(data: bytes, where: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SpecError(f"{where} holds no readable PEM certificate: {exc}") from None


def _pem_private_key(data: bytes, password: str | None, where: str) -> PrivateKeyTypes:
    block = _PEM_KEY.search(data)
    if block is None:
        raise SpecError(f"{where} holds certificates but no PEM private key")
    try:
        return serialization.load_pem_private_key(block.group(0), _password(password))
    except (TypeError, ValueError) as exc:
        raise SpecError(
            f"{where}: the private key cannot be read ({exc}); an encrypted key needs the "
            "keystore password"
        ) from None


def _pkcs12(data: bytes, password: str | None, where: str) -> pkcs12.PKCS12KeyAndCertificates:
    try:
        return pkcs12.load_pkcs12(data, _password(password))
    except ValueError as exc:
        raise SpecError(
            f"{where} is neither PEM nor a PKCS12 store this password opens ({exc})"
        ) from None


def keystore_pem(data: bytes, password: str | None, where: str) -> bytes:
    """The private key (unencrypted PKCS#8) followed by its certificate chain, as PEM."""
    _refuse_java(data, where)
    if _PEM_BEGIN in data:
        key = _pem_private_key(data, password, where)
        chain = _pem_certificates(data, where)
    else:
        store = _pkcs12(data, password, where)
        if store.key is None or store.cert is None:
            raise SpecError(f"{where} is a PKCS12 store without a private key and certificate")
        key = store.key
        chain = [store.cert.certificate, *(extra.certificate for extra in store.additional_certs)]
    # Cassandra would start and then fail every handshake; say so before starting it
    if key.public_key() != chain[0].public_key():
        raise SpecError(
            f"{where}: the private key does not belong to the first certificate "
            f"({chain[0].subject.rfc4514_string()}); put the key's own certificate first"
        )
    unencrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return unencrypted + _pem(chain)


def truststore_pem(data: bytes, password: str | None, where: str) -> bytes:
    """The trusted CA certificates as PEM."""
    _refuse_java(data, where)
    if _PEM_BEGIN in data:
        return _pem(_pem_certificates(data, where))
    store = _pkcs12(data, password, where)
    chain = [entry.certificate for entry in [store.cert, *store.additional_certs] if entry]
    if not chain:
        raise SpecError(f"{where} is a PKCS12 store without certificates")
    return _pem(chain)
