"""TLS Secrets for a provisioned cluster: the shape K8ssandra mounts, material that verifies."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cqltest.model import ClusterSpec, load_testrun
from cqltest.render import tls
from cqltest.render.cluster import TlsSecrets, cluster_values
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

ROOT = Path(__file__).resolve().parents[2]
MULTI_DC = ROOT / "manifests" / "examples" / "multi-dc.yaml"
STORE_KEYS = {"keystore", "truststore", "keystore-password", "truststore-password"}


def decoded(secret: dict[str, Any]) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


@pytest.fixture(scope="module")
def multi_dc() -> tuple[ClusterSpec, list[dict[str, Any]]]:
    run = load_testrun(MULTI_DC)
    return run.spec.cluster, tls.tls_secrets(run.name, "qa", run.spec.cluster)


def test_no_tls_no_secrets() -> None:
    cluster = ClusterSpec.model_validate({"datacenters": [{"name": "dc1", "size": 1}]})
    assert tls.secret_names("smoke", cluster) is None
    assert tls.tls_secrets("smoke", "qa", cluster) == []


def test_names_match_what_the_values_reference(
    multi_dc: tuple[ClusterSpec, list[dict[str, Any]]],
) -> None:
    cluster, secrets = multi_dc
    names = tls.secret_names("multi-dc", cluster)
    assert names == TlsSecrets(
        ca="multi-dc-ca", client="multi-dc-client-stores", internode="multi-dc-internode-stores"
    )
    assert [s["metadata"]["name"] for s in secrets] == [names.ca, names.client, names.internode]
    values = cluster_values("multi-dc", cluster, tls_secrets=names, superuser_secret=None)
    assert values["encryption"]["client"]["storesSecret"] == names.client
    assert values["encryption"]["internode"]["storesSecret"] == names.internode
    for secret in secrets:
        assert secret["kind"] == "Secret"
        assert secret["metadata"]["namespace"] == "qa"
        assert secret["metadata"]["labels"] == {"cqltest.dev/testrun": "multi-dc"}


def test_only_the_tls_asked_for() -> None:
    cluster = ClusterSpec.model_validate(
        {"datacenters": [{"name": "dc1", "size": 1}], "security": {"tls": {"internode": True}}}
    )
    names = tls.secret_names("r", cluster)
    assert names == TlsSecrets(ca="r-ca", client=None, internode="r-internode-stores")
    assert [s["metadata"]["name"] for s in tls.tls_secrets("r", "qa", cluster)] == [
        "r-ca",
        "r-internode-stores",
    ]


def test_long_run_names_keep_secret_names_valid() -> None:
    cluster = ClusterSpec.model_validate(
        {"datacenters": [{"name": "dc1", "size": 1}], "security": {"tls": {"client": True}}}
    )
    names = tls.secret_names("r" * 250, cluster)
    assert names is not None
    assert names.client is not None
    assert len(names.client) <= tls.SECRET_NAME_LIMIT
    assert names.client != names.ca


def test_stores_parse_back_and_the_chains_verify(
    multi_dc: tuple[ClusterSpec, list[dict[str, Any]]],
) -> None:
    _, secrets = multi_dc
    ca_data, *stores = (decoded(s) for s in secrets)
    assert set(ca_data) == {"ca.crt"}
    ca = x509.load_pem_x509_certificate(ca_data["ca.crt"])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert len(stores) == 2
    for store in stores:
        assert set(store) == STORE_KEYS
        assert store["truststore"] == ca_data["ca.crt"]
        assert store["truststore-password"] == b""
        keystore = store["keystore"]
        # The key first (encrypted with keystore-password, as K8ssandra hands it to Cassandra),
        # then the chain: leaf, CA.
        assert keystore.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
        key = serialization.load_pem_private_key(keystore, store["keystore-password"])
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        chain = x509.load_pem_x509_certificates(keystore)
        assert len(chain) == 2
        assert chain[1] == ca
        leaf = chain[0]
        leaf.verify_directly_issued_by(ca)
        assert leaf.public_key() == key.public_key()
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = sans.get_values_for_type(x509.DNSName)
        assert "multi-dc-dc1-service.qa.svc.cluster.local" in names
        assert "*.multi-dc-dc2-all-pods-service.qa.svc.cluster.local" in names
    assert stores[0]["keystore-password"] != stores[1]["keystore-password"]


def test_private_key_encryption_round_trips() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tls.encrypted_private_pem(key, "pa55")
    loaded = serialization.load_pem_private_key(pem, b"pa55")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_numbers()
    with pytest.raises(ValueError, match="password"):
        serialization.load_pem_private_key(pem, b"wrong")
