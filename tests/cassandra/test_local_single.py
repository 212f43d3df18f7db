"""A 1-node local cluster serves CQL: the simplest proof that jars, JVM flags and config work."""

from __future__ import annotations

import uuid

import pytest
from cassandra.cluster import Cluster
from cqltest.local import ClusterInfo

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(300)]


def test_single_node_crud(cluster_single: ClusterInfo) -> None:
    assert cluster_single.datacenters == {"dc1": cluster_single.contact_points}
    assert cluster_single.username is None
    assert cluster_single.ca_path is None
    cluster = Cluster(cluster_single.contact_points, port=cluster_single.port)
    try:
        session = cluster.connect()
        keyspace = f"crud_{uuid.uuid4().hex[:8]}"
        session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 1}"
        )
        session.execute(f"CREATE TABLE {keyspace}.kv (k int PRIMARY KEY, v text)")
        insert = session.prepare(f"INSERT INTO {keyspace}.kv (k, v) VALUES (?, ?)")
        for k in range(10):
            session.execute(insert, (k, f"v{k}"))
        assert session.execute(f"SELECT v FROM {keyspace}.kv WHERE k = 3").one().v == "v3"
        session.execute(f"UPDATE {keyspace}.kv SET v = 'changed' WHERE k = 3")
        assert session.execute(f"SELECT v FROM {keyspace}.kv WHERE k = 3").one().v == "changed"
        session.execute(f"DELETE FROM {keyspace}.kv WHERE k = 3")
        assert session.execute(f"SELECT v FROM {keyspace}.kv WHERE k = 3").one() is None
        assert len(list(session.execute(f"SELECT k FROM {keyspace}.kv"))) == 9
        session.execute(f"DROP KEYSPACE {keyspace}")
    finally:
        cluster.shutdown()
