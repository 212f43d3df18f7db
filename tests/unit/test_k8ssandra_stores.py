"""Encryption-store Secrets → PEM: the formats accepted, and the ones refused with advice."""

from __future__ import annotations

import pytest
from cqltest.local import certs
from cqltest.localkube.k8ssandra.stores import keystore_pem, truststore_pem
from cqltest.localkube.k8ssandra.translate import SpecError
from cqltest.render.tls import encrypted_private_pem
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

CA = certs.new_ca(certs.subject("test CA"))
LEAF = certs.issue(CA, certs.subject("node"))
CA_PEM = certs.certificate_pem(CA[0])
LEAF_PEM = certs.certificate_pem(LEAF[0])


def _key_pem(output: bytes) -> bytes:
    return output[: output.index(b"-----END PRIVATE KEY-----") + len(b"-----END PRIVATE KEY-----")]


def test_plain_pem_keystore() -> None:
    output = keystore_pem(certs.private_pem(LEAF[1]) + LEAF_PEM + CA_PEM, None, "ks")
    key = serialization.load_pem_private_key(_key_pem(output), None)
    assert key.public_key() == LEAF[1].public_key()
    chain = x509.load_pem_x509_certificates(output)
    assert chain == [LEAF[0], CA[0]]


def test_encrypted_pem_keystore_needs_its_password() -> None:
    encrypted = LEAF[1].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    output = keystore_pem(LEAF_PEM + encrypted, "secret", "ks")
    assert b"ENCRYPTED" not in output
    assert serialization.load_pem_private_key(_key_pem(output), None)
    with pytest.raises(SpecError, match="keystore password"):
        keystore_pem(encrypted + LEAF_PEM, None, "ks")


def test_pkcs12_stores() -> None:
    store = pkcs12.serialize_key_and_certificates(
        b"node", LEAF[1], LEAF[0], [CA[0]], serialization.BestAvailableEncryption(b"pw")
    )
    output = keystore_pem(store, "pw", "ks")
    assert x509.load_pem_x509_certificates(output) == [LEAF[0], CA[0]]
    trust = pkcs12.serialize_key_and_certificates(
        None, None, None, [CA[0]], serialization.BestAvailableEncryption(b"pw")
    )
    assert x509.load_pem_x509_certificates(truststore_pem(trust, "pw", "ts")) == [CA[0]]
    with pytest.raises(SpecError, match="neither PEM nor a PKCS12"):
        keystore_pem(store, "wrong", "ks")


def test_pem_truststore() -> None:
    assert truststore_pem(CA_PEM, None, "ts") == CA_PEM


@pytest.mark.parametrize(("magic", "kind"), [(b"\xfe\xed\xfe\xed", "JKS"), (b"\xce" * 4, "JCEKS")])
def test_java_stores_are_refused_with_advice(magic: bytes, kind: str) -> None:
    with pytest.raises(SpecError, match=f"secret/x keystore is a {kind} store.*PKCS12"):
        keystore_pem(magic + b"rest", "pw", "secret/x keystore")


def test_keystore_without_key() -> None:
    with pytest.raises(SpecError, match="no PEM private key"):
        keystore_pem(LEAF_PEM, None, "ks")


def test_the_operators_pbes1_keystore_is_decrypted() -> None:
    """cqltest's operator writes PBES1 3DES-encrypted PEM keys (render.tls); the stand-in must
    read its own operator's Secrets."""
    output = keystore_pem(encrypted_private_pem(LEAF[1], "s3cret") + LEAF_PEM, "s3cret", "ks")
    loaded = serialization.load_pem_private_key(_key_pem(output), None)
    assert loaded.public_key() == LEAF[1].public_key()


def test_a_key_that_is_not_the_certificates_is_refused() -> None:
    other = certs.issue(CA, certs.subject("other"))[1]
    with pytest.raises(SpecError, match=r"does not belong to the first certificate \(CN=node"):
        keystore_pem(certs.private_pem(other) + LEAF_PEM, None, "ks")
