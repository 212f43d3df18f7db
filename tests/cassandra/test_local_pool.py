"""``spec.cluster.reuse``: warm 1-node clusters shared by runs through a pool, for real.

The tests share one pool root and run in order (each builds on the clusters the previous one
left idle), so the module starts only three clusters: the first run's, the second one a
capacity of 2 allows, and the replacement of a cluster whose node died.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cqltest.local import LocalCluster
from cqltest.local.backend import LocalRun, RunOptions
from cqltest.local.pool import Pool
from cqltest.local.pooled import PooledCluster
from cqltest.model import ClusterSpec, parse_testrun
from cqltest.render.environment import Connection

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(600)]

START = 300.0
POOL = "t"

#: A suite that fails if an earlier run's keyspace or role is still there, then leaves its own.
LEAVES_LITTER = """
import os
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
auth = PlainTextAuthProvider(os.environ["CQLTEST_USERNAME"], os.environ["CQLTEST_PASSWORD"])
cluster = Cluster(
    os.environ["CQLTEST_CONTACT_POINTS"].split(","),
    auth_provider=auth,
    connect_timeout=30,
    control_connection_timeout=30,
    schema_metadata_enabled=False,
)
session = cluster.connect()
session.default_timeout = 60
rows = session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
keyspaces = {r.keyspace_name for r in rows}
roles = {r.role for r in session.execute("SELECT role FROM system_auth.roles")}
assert "litter" not in keyspaces and "litterbug" not in roles, (keyspaces, roles)
session.execute(
    "CREATE KEYSPACE litter WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
)
session.execute("CREATE TABLE litter.t (k int PRIMARY KEY)")
session.execute("CREATE ROLE litterbug")
cluster.shutdown()
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The pool's cluster root; every pooled cluster is destroyed at the end."""
    path = tmp_path_factory.mktemp("pool")
    try:
        yield path
    finally:
        for pool in Pool.all(path):
            pool.prune(everything=True)
        for cluster in LocalCluster.list(path):
            cluster.destroy()


def _cluster_spec(**policy: Any) -> dict[str, Any]:
    return {
        "datacenters": [{"name": "dc1", "size": 1}],
        "security": {"authentication": True},
        "readyTimeout": "10m",
        "reuse": True,
        "pool": POOL,
        "poolPolicy": {"claimTimeout": "5m", **policy},
    }


def _spec(**policy: Any) -> ClusterSpec:
    doc = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "pooled"},
        "spec": {"cluster": _cluster_spec(**policy), "suites": [{"name": "smoke"}]},
    }
    return parse_testrun(doc).spec.cluster


def _session(connection: Connection) -> Cluster:
    assert connection.username is not None
    auth = PlainTextAuthProvider(connection.username, connection.password or "")
    return Cluster(
        list(connection.contact_points),
        port=connection.port,
        auth_provider=auth,
        connect_timeout=30,
        control_connection_timeout=30,
        schema_metadata_enabled=False,
    )


def _keyspaces(connection: Connection) -> set[str]:
    cluster = _session(connection)
    try:
        rows = cluster.connect().execute("SELECT keyspace_name FROM system_schema.keyspaces")
        return {row.keyspace_name for row in rows if not row.keyspace_name.startswith("system")}
    finally:
        cluster.shutdown()


def _claim(handle: PooledCluster) -> Connection:
    return handle.start(START, on_event=lambda message: print(message, flush=True))


def test_two_runs_in_a_row_share_one_warm_cluster(root: Path, tmp_path: Path) -> None:
    doc = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "pooled"},
        "spec": {
            "cluster": _cluster_spec(),
            "suites": [{"name": "litter", "command": [sys.executable, "-c", LEAVES_LITTER]}],
        },
    }
    names, seconds = [], []
    for attempt in (1, 2):
        run = LocalRun(
            parse_testrun(doc),
            tmp_path / "run.yaml",
            options=RunOptions(
                cluster_root=root, workdir=tmp_path / f"work{attempt}", handle_signals=False
            ),
        )
        status = run.execute()
        assert status.phase == "Succeeded", status.model_dump_json(indent=1)
        assert status.cluster is not None
        assert status.cluster.provision_seconds is not None
        names.append(status.cluster.name)
        seconds.append(status.cluster.provision_seconds)
    print(f"provisioning: cold {seconds[0]:.1f}s, warm {seconds[1]:.1f}s")
    assert names[0] == names[1]
    assert seconds[1] <= 5.0, seconds
    (entry,) = Pool(POOL, root).entries()
    assert (entry.name, entry.state, entry.dirty) == (names[0], "idle", False)
    # the second run's litter was dropped when it released the cluster
    info = LocalCluster.load(entry.name, root).info()
    connection = Connection(
        tuple(info.contact_points), port=info.port, username=info.username, password=info.password
    )
    assert _keyspaces(connection) == set()
    cluster = _session(connection)
    try:
        roles = {r.role for r in cluster.connect().execute("SELECT role FROM system_auth.roles")}
    finally:
        cluster.shutdown()
    assert roles == {info.username}


def test_capacity_one_serialises_claims_and_two_gives_two_clusters(root: Path) -> None:
    first = PooledCluster(_spec(maxPerShape=1), "first", root)
    _claim(first)
    second = PooledCluster(_spec(maxPerShape=1), "second", root)
    claimed = threading.Event()
    waiter = threading.Thread(target=lambda: (_claim(second), claimed.set()))
    waiter.start()
    assert not claimed.wait(3.0), "a second claim got a cluster while the only one was held"
    released = time.monotonic()
    first.teardown()
    assert claimed.wait(30.0)
    waiter.join()
    print(f"the waiting claim got the cluster {time.monotonic() - released:.1f}s after release")
    assert second.name == first.name
    second.teardown()

    a = PooledCluster(_spec(maxPerShape=2), "a", root)
    b = PooledCluster(_spec(maxPerShape=2), "b", root)
    threads = [threading.Thread(target=_claim, args=(h,)) for h in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.claimed_warm, b.claimed_warm} == {True, False}
    assert a.name != b.name
    a.teardown()
    b.teardown()
    assert sorted(e.state for e in Pool(POOL, root).entries()) == ["idle", "idle"]


KILLED_CLAIMANT = """
import os, signal, sys
from pathlib import Path
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cqltest.local.pooled import PooledCluster
from cqltest.model import parse_testrun
doc = {
    "apiVersion": "cqltest.dev/v1alpha1", "kind": "TestRun", "metadata": {"name": "doomed"},
    "spec": {"cluster": {"datacenters": [{"name": "dc1", "size": 1}], "reuse": True,
             "security": {"authentication": True}, "pool": "t",
             "poolPolicy": {"maxPerShape": 2}}, "suites": [{"name": "smoke"}]},
}
handle = PooledCluster(parse_testrun(doc).spec.cluster, "doomed", Path(sys.argv[1]))
connection = handle.start(120, print)
auth = PlainTextAuthProvider(connection.username, connection.password)
cluster = Cluster(
    list(connection.contact_points), auth_provider=auth, control_connection_timeout=30
)
cluster.connect().execute(
    "CREATE KEYSPACE doomed WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
)
print(handle.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies holding the claim, like a crashed run
"""


def test_a_killed_claimant_does_not_leak_its_claim(root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_CLAIMANT, str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    doomed = done.stdout.split()[-1]
    entries = {e.name: e for e in Pool(POOL, root).entries()}
    assert (entries[doomed].state, entries[doomed].dirty) == ("idle", True)
    assert entries[doomed].claimant is None
    # both idle clusters are claimed: the clean one as it is, the dirty one reset first
    handles = [PooledCluster(_spec(maxPerShape=2), f"after{i}", root) for i in (1, 2)]
    connections = {h.name: c for h in handles for c in [_claim(h)]}
    assert doomed in connections
    assert _keyspaces(connections[doomed]) == set()
    for handle in handles:
        handle.teardown()


def test_a_cluster_with_a_dead_node_is_replaced(root: Path) -> None:
    before = [e.name for e in Pool(POOL, root).entries()]
    assert len(before) == 2
    broken = LocalCluster.load(before[0], root)
    broken.kill_node(broken.state.nodes[0].plan.address)
    handles = [PooledCluster(_spec(maxPerShape=2), f"h{i}", root) for i in (1, 2)]
    threads = [threading.Thread(target=_claim, args=(h,)) for h in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = {h.name for h in handles}
    assert before[0] not in names
    assert before[1] in names
    assert not LocalCluster.exists(before[0], root)
    for handle in handles:
        assert handle.name is not None
        statuses = LocalCluster.load(handle.name, root).status()
        assert set(statuses.values()) == {"UP"}
        handle.teardown()
    listed = subprocess.run(
        [sys.executable, "-m", "cqltest", "pool", "list", "--root", str(root), "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(listed.stdout)
    assert sorted((r["cluster"], r["state"]) for r in rows) == sorted(
        (name, "idle") for name in names
    )
