"""A 1-node local cluster serves CQL: the simplest proof that jars, JVM flags and config work."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from cassandra.cluster import Cluster
from cqltest.local import ClusterInfo, LocalCluster

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


ORPHAN_MAKER = """
import json, os, signal, sys
from cqltest.local import ClusterSpec, DatacenterSpec, LocalCluster
spec = ClusterSpec(name="orphan", datacenters=[DatacenterSpec("dc1", 1)])
cluster = LocalCluster.create(spec, root=sys.argv[1], owned=True)
cluster.start(timeout=180)
print(json.dumps({"pid": cluster.state.nodes[0].pid}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies like a crashed `cqltest run`, no cleanup at all
"""


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_owned_cluster_of_a_killed_process_is_reaped(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", ORPHAN_MAKER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
    jvm = psutil.Process(json.loads(child.stdout)["pid"])  # pinned to its start time
    directory = tmp_path / "orphan"
    try:
        assert jvm.is_running(), "the node should have outlived its owner"
        # asserted by effect: another process on this machine may reap it first
        LocalCluster.reap_orphans()
        # the JVM takes its time to exit on a loaded machine; the reaper has already signalled it
        for _ in range(120):  # 60 s at most
            if _gone(jvm):
                break
            time.sleep(0.5)
        assert _gone(jvm), f"the orphaned node {jvm.pid} still runs after the reaper"
        assert not directory.exists()
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            jvm.kill()  # psutil refuses if the pid now belongs to another process


def test_a_live_owners_cluster_is_not_reaped(
    cluster_single: ClusterInfo, cassandra_root: Path
) -> None:
    # cluster_single is owned by this pytest process, which is alive
    state = LocalCluster.load("single", root=cassandra_root).state
    assert state.owner is not None
    assert state.owner.pid == os.getpid()
    assert str(cassandra_root / "single") not in LocalCluster.reap_orphans()
    assert LocalCluster.exists("single", root=cassandra_root)
