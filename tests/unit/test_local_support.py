"""Java version parsing, version validation, TLS material and subnet claims of cqltest.local."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cqltest.errors import InputError, SetupError
from cqltest.local import certs, state
from cqltest.local.jars import DEFAULT_VERSION, parse_java_major, resolve_version
from cqltest.local.topology import ClusterSpec, DatacenterSpec, plan_nodes
from cryptography import x509


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('java version "1.8.0_402"', 8),
        ('openjdk version "21" 2023-09-19', 21),
    ],
)
def test_parse_java_major(output: str, major: int) -> None:
    assert parse_java_major(output) == major


def test_parse_java_major_garbage() -> None:
    with pytest.raises(SetupError, match="cannot tell the Java version"):
        parse_java_major("command not found")


def test_resolve_version() -> None:
    assert resolve_version(None) == DEFAULT_VERSION
    assert resolve_version("5.0.3") == "5.0.3"
    for bad in ("4.1.5", "5.1.0", "latest", "5.0"):
        with pytest.raises(InputError, match=f"--version '{bad}'"):
            resolve_version(bad)


def test_certificates_chain_to_the_ca_with_an_ip_san(tmp_path: Path) -> None:
    ca_path, ca_key = certs.create_ca(tmp_path / "tls", "t")
    keystore = certs.create_node_keystore(ca_path, ca_key, "127.0.5.2", tmp_path / "node.pem")
    assert keystore.stat().st_mode & 0o077 == 0
    assert ca_key.stat().st_mode & 0o077 == 0
    pem = keystore.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    node_cert, ca_in_chain = x509.load_pem_x509_certificates(pem[pem.index(b"-----BEGIN CERT") :])
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    assert ca_in_chain == ca
    node_cert.verify_directly_issued_by(ca)
    san = node_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.5.2")]


def test_state_round_trip(tmp_path: Path) -> None:
    spec = ClusterSpec(name="t", datacenters=[DatacenterSpec("dc1", 2, ["a", "b"])], heap="1G")
    original = state.ClusterState(
        spec=spec,
        version="5.0.9",
        subnet=3,
        nodes=[state.NodeState(p, pid=100 + p.index) for p in plan_nodes(spec, 3)],
        username="u",
        password="p",
    )
    state.save(tmp_path, original)
    assert (tmp_path / state.STATE_FILE).stat().st_mode & 0o077 == 0
    assert state.load(tmp_path) == original


def test_load_missing_cluster_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'nope' does not exist"):
        state.load(tmp_path / "nope")


def test_subnet_claims_skip_live_and_reuse_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = tmp_path / "claims"
    claims.mkdir()
    monkeypatch.setattr(state, "_claims_dir", lambda: claims)
    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):
        directory.mkdir()
        (directory / state.STATE_FILE).write_text("{}")
    assert state.claim_subnet(first, lambda subnet: True) == 1
    assert state.claim_subnet(second, lambda subnet: subnet != 2) == 3
    # A destroyed cluster's claim is stale and the subnet is reused.
    (first / state.STATE_FILE).unlink()
    third = tmp_path / "c"
    third.mkdir()
    (third / state.STATE_FILE).write_text("{}")
    assert state.claim_subnet(third, lambda subnet: True) == 1
    state.release_subnet(3, second)
    assert state.claim_subnet(second, lambda subnet: True) == 2
