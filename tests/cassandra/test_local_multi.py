"""A 3-node cluster over two datacenters: replication, consistency, node faults, coexistence."""

from __future__ import annotations

import contextlib
import socket
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cassandra import ConsistencyLevel, ReadTimeout, Unavailable
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement
from cqltest.local import ClusterInfo, LocalCluster
from cqltest.local.topology import STORAGE_PORT

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(600)]


@contextlib.contextmanager
def connected(
    info: ClusterInfo, hosts: list[str] | None = None, dc: str = "dc1"
) -> Iterator[Session]:
    """A session routed to ``hosts`` only, or DC-aware with ``dc`` as the local datacenter."""
    policy = WhiteListRoundRobinPolicy(hosts) if hosts else DCAwareRoundRobinPolicy(local_dc=dc)
    profile = ExecutionProfile(load_balancing_policy=policy, request_timeout=15)
    cluster = Cluster(
        hosts or info.contact_points,
        port=info.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


@pytest.fixture(scope="module")
def keyspace(cluster_multi: tuple[LocalCluster, ClusterInfo]) -> Iterator[str]:
    """A keyspace replicated to every node: dc1 RF 2, dc2 RF 1."""
    _, info = cluster_multi
    name = f"multi_{uuid.uuid4().hex[:8]}"
    with connected(info) as session:
        session.execute(
            f"CREATE KEYSPACE {name} WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}"
        )
        session.execute(f"CREATE TABLE {name}.kv (k int PRIMARY KEY, v text)")
        yield name
        session.execute(f"DROP KEYSPACE {name}")


def write_read(session: Session, keyspace: str, cl: int, keys: range, tag: str) -> list[str]:
    """Write ``tag<k>`` for every key and read it straight back, both at ``cl``."""
    insert = session.prepare(f"INSERT INTO {keyspace}.kv (k, v) VALUES (?, ?)")
    insert.consistency_level = cl
    select = session.prepare(f"SELECT v FROM {keyspace}.kv WHERE k = ?")
    select.consistency_level = cl
    values = []
    for k in keys:
        session.execute(insert, (k, f"{tag}{k}"))
        values.append(session.execute(select, (k,)).one().v)
    return values


def read(session: Session, keyspace: str, key: int, cl: int) -> str:
    query = SimpleStatement(f"SELECT v FROM {keyspace}.kv WHERE k = {key}", consistency_level=cl)
    value: str = session.execute(query).one().v
    return value


def test_topology_is_reported(cluster_multi: tuple[LocalCluster, ClusterInfo]) -> None:
    local, info = cluster_multi
    assert list(info.datacenters) == ["dc1", "dc2"]
    assert len(info.datacenters["dc1"]) == 2
    assert len(info.datacenters["dc2"]) == 1
    assert set(local.status().values()) == {"UP"}
    with connected(info, hosts=[info.datacenters["dc2"][0]]) as session:
        local_row = session.execute("SELECT data_center, rack FROM system.local").one()
        assert (local_row.data_center, local_row.rack) == ("dc2", "rack1")
        peers = {
            str(r.peer): (r.data_center, r.rack)
            for r in session.execute("SELECT peer, data_center, rack FROM system.peers_v2")
        }
    dc1 = info.datacenters["dc1"]
    assert peers == {dc1[0]: ("dc1", "r1"), dc1[1]: ("dc1", "r2")}


def test_local_quorum_reads_after_writes_in_each_dc(
    cluster_multi: tuple[LocalCluster, ClusterInfo], keyspace: str
) -> None:
    _, info = cluster_multi
    for dc in ("dc1", "dc2"):
        with connected(info, dc=dc) as session:
            got = write_read(session, keyspace, ConsistencyLevel.LOCAL_QUORUM, range(20), dc)
        assert got == [f"{dc}{k}" for k in range(20)]
    # A write acknowledged by a quorum in *each* DC is read back at LOCAL_QUORUM in the other.
    with connected(info, dc="dc2") as session:
        write_read(session, keyspace, ConsistencyLevel.EACH_QUORUM, range(7, 8), "each")
    with connected(info, dc="dc1") as session:
        assert read(session, keyspace, 7, ConsistencyLevel.LOCAL_QUORUM) == "each7"


def test_kill_one_node_then_restart(
    cluster_multi: tuple[LocalCluster, ClusterInfo], keyspace: str
) -> None:
    """With dc1 RF 2 and one dc1 node killed, LOCAL_ONE still works in both DCs and
    LOCAL_QUORUM in dc1 does not; after the restart every node is UP and QUORUM works again."""
    local, info = cluster_multi
    victim, survivor = info.datacenters["dc1"]
    local.kill_node(victim)
    try:
        assert local.status()[victim] == "DOWN"
        for host, tag in ((survivor, "s"), (info.datacenters["dc2"][0], "d")):
            with connected(info, hosts=[host]) as session:
                got = write_read(session, keyspace, ConsistencyLevel.LOCAL_ONE, range(5), tag)
            assert got == [f"{tag}{k}" for k in range(5)]
        with (
            connected(info, hosts=[survivor]) as session,
            pytest.raises((Unavailable, ReadTimeout)),
        ):
            read(session, keyspace, 1, ConsistencyLevel.LOCAL_QUORUM)
    finally:
        local.start_node(victim, timeout=180)
    assert set(local.status().values()) == {"UP"}
    with connected(info, hosts=[victim]) as session:
        got = write_read(session, keyspace, ConsistencyLevel.LOCAL_QUORUM, range(5), "r")
    assert got == [f"r{k}" for k in range(5)]


def test_two_clusters_side_by_side(
    cluster_single: ClusterInfo, cluster_multi: tuple[LocalCluster, ClusterInfo]
) -> None:
    """Both session clusters are up at once on distinct subnets and each is its own ring."""
    _, multi = cluster_multi
    subnets = {a.rsplit(".", 1)[0] for a in cluster_single.contact_points}
    assert subnets.isdisjoint({a.rsplit(".", 1)[0] for a in multi.contact_points})
    names = set()
    for info in (cluster_single, multi):
        with connected(info, hosts=[info.contact_points[0]]) as session:
            names.add(session.execute("SELECT cluster_name FROM system.local").one().cluster_name)
            peers = {str(r.peer) for r in session.execute("SELECT peer FROM system.peers_v2")}
        assert peers == set(info.contact_points) - {info.contact_points[0]}
    assert names == {"single", "multi"}


def test_internode_traffic_is_mutual_tls(cluster_multi: tuple[LocalCluster, ClusterInfo]) -> None:
    """Every storage port speaks TLS with a CA-signed certificate and admits only peers that
    present one; the cluster being UP shows the nodes talk to each other that way."""
    local, info = cluster_multi
    ca_path = local.state.ca_path
    assert ca_path is not None
    assert set(local.status().values()) == {"UP"}
    for address in [a for dc in info.datacenters.values() for a in dc]:
        as_peer = _tls_context(ca_path)
        as_peer.load_cert_chain(local.node_files(address).keystore)
        peer = _handshake(as_peer, address)
        assert ("IP Address", address) in peer["subjectAltName"]
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _handshake(_tls_context(ca_path), address)


def _tls_context(ca_path: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_path)
    context.check_hostname = False  # the nodes do not check endpoints either
    return context


def _handshake(context: ssl.SSLContext, address: str) -> Any:
    """TLS to the storage port and one byte each way; the node's certificate."""
    with (
        socket.create_connection((address, STORAGE_PORT), timeout=10) as raw,
        context.wrap_socket(raw) as tls,
    ):
        # TLS 1.3 reports a rejected client certificate only on the first read
        tls.sendall(b"\0")
        try:
            if not tls.recv(1):
                raise ConnectionError("closed by the node")
        except TimeoutError:
            pass  # accepted: the node waits for a whole internode frame
        return tls.getpeercert()
