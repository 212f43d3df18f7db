"""A cluster given its TLS stores and superuser (what the K8ssandra stand-in passes on).

The stores hold one leaf certificate without IP subject alternative names, shared by every
node, as Kubernetes users' stores usually are: clients verify the chain, not the host.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cqltest.local import ClusterInfo, ClusterSpec, DatacenterSpec, LocalCluster, certs

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(300)]


def _stores(directory: Path) -> Path:
    ca = certs.new_ca(certs.subject("given CA"))
    leaf = certs.issue(ca, certs.subject("any-node"))
    certs.write_private(
        directory / "keystore.pem",
        certs.private_pem(leaf[1]) + certs.certificate_pem(leaf[0]) + certs.certificate_pem(ca[0]),
    )
    (directory / "truststore.pem").write_bytes(certs.certificate_pem(ca[0]))
    return directory


@pytest.fixture(scope="module")
def given(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterInfo]:
    stores = _stores(tmp_path_factory.mktemp("stores"))
    spec = ClusterSpec(
        name="given",
        datacenters=[DatacenterSpec("dc1", 1), DatacenterSpec("dc2", 1)],
        authentication=True,
        client_tls=True,
        internode_tls=True,
        cassandra_name="Given Cluster",
        superuser="given-superuser",
        superuser_password="given-password",
        client_stores=str(stores),
        internode_stores=str(stores),
    )
    cluster = LocalCluster.create(spec, root=tmp_path_factory.mktemp("clusters"), owned=True)
    try:
        yield cluster.start(timeout=180)
    finally:
        cluster.destroy()


def _context(info: ClusterInfo) -> ssl.SSLContext:
    assert info.ca_path is not None
    context = ssl.create_default_context(cafile=info.ca_path)
    context.check_hostname = False  # the given certificate names no node
    return context


def test_given_superuser_stores_and_cluster_name(given: ClusterInfo) -> None:
    assert (given.username, given.password) == ("given-superuser", "given-password")
    cluster = Cluster(
        given.contact_points,
        port=given.port,
        auth_provider=PlainTextAuthProvider("given-superuser", "given-password"),
        ssl_context=_context(given),
        connect_timeout=10,
    )
    try:
        session = cluster.connect()
        local = session.execute("SELECT cluster_name FROM system.local").one()
        assert local.cluster_name == "Given Cluster"
        roles = {row.role for row in session.execute("SELECT role FROM system_auth.roles")}
        assert roles == {"given-superuser"}  # the well-known default is gone
        assert len(list(session.execute("SELECT peer FROM system.peers_v2"))) == 1
    finally:
        cluster.shutdown()


def test_plaintext_is_refused(given: ClusterInfo) -> None:
    cluster = Cluster(
        given.contact_points,
        port=given.port,
        auth_provider=PlainTextAuthProvider("given-superuser", "given-password"),
        connect_timeout=5,
    )
    try:
        with pytest.raises(NoHostAvailable):
            cluster.connect()
    finally:
        cluster.shutdown()
