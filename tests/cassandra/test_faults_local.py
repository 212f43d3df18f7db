"""Faults on real local nodes: a partition really cuts the nodes apart, and a run's faults count.

The partition proof works on the session's 2-DC cluster directly (netfaults, the driver): during
the cut each side's coordinator finds the other side DOWN (EACH_QUORUM is Unavailable, which a
coordinator only says once its failure detector convicted the replicas) while LOCAL_QUORUM goes
on; after the heal, the hints written meanwhile reach the cut-off side. The RF-1 run kills the
only replica of part of the data under writes at ONE through a whole TestRun (engine, local
backend, resilience suite). Both leave the shared cluster whole: every node UP and heard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cassandra import ConsistencyLevel, Unavailable
from cassandra.cluster import NoHostAvailable, Session
from cassandra.query import SimpleStatement
from cqltest.local import ClusterInfo, LocalCluster, netfaults
from cqltest.local.backend import LocalRun, RunOptions
from cqltest.local.topology import STORAGE_PORT
from cqltest.model import parse_testrun

pytestmark = pytest.mark.cassandra
ROWS = 40
CONVICT_WITHIN = 90.0
"""The failure detector convicts an unreachable peer in ~20 s here; a loaded machine is slower."""


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(1.0)
    pytest.fail(f"{what} did not happen within {timeout:g}s (last: {last!r})")


def _each_quorum_unavailable(session: Session, key: int) -> str | None:
    """The Unavailable message an EACH_QUORUM write gets, or None while it does not get one."""
    statement = SimpleStatement(
        "INSERT INTO fault_proof.t (k, v) VALUES (%s, %s)",
        consistency_level=ConsistencyLevel.EACH_QUORUM,
    )
    try:
        session.execute(statement, (key, key), timeout=10)
    except Unavailable as exc:
        return str(exc)
    except NoHostAvailable as exc:  # the retry policy moved on: the cause is inside
        causes = [e for e in exc.errors.values() if isinstance(e, Unavailable)]
        return str(causes[0]) if causes else None
    except Exception:  # a timeout: the replicas are not convicted yet
        return None
    return None


@pytest.fixture
def sessions(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> Iterator[tuple[Session, Session]]:
    """Sessions pinned to dc1's first node and to dc2's node, around a proof keyspace."""
    cluster, info = cluster_multi
    dc1, dc2 = info.datacenters["dc1"][0], info.datacenters["dc2"][0]
    driver1, one = cluster.connect(dc1, cluster.login(), timeout=10)
    driver2, two = cluster.connect(dc2, cluster.login(), timeout=10)
    one.execute(
        "CREATE KEYSPACE IF NOT EXISTS fault_proof WITH replication = "
        "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}",
        timeout=60,
    )
    one.execute("CREATE TABLE IF NOT EXISTS fault_proof.t (k int PRIMARY KEY, v int)", timeout=60)
    try:
        yield one, two
    finally:
        netfaults.heal(cluster.state.subnet, "proof")
        # the shared cluster is whole again before the next test: dc2 answers EACH_QUORUM
        _wait(lambda: _each_quorum_ok(one), 120, "EACH_QUORUM through dc1 after the heal")
        one.execute("DROP KEYSPACE IF EXISTS fault_proof", timeout=60)
        driver1.shutdown()
        driver2.shutdown()


def _each_quorum_ok(session: Session) -> bool:
    statement = SimpleStatement(
        "INSERT INTO fault_proof.t (k, v) VALUES (0, 0)",
        consistency_level=ConsistencyLevel.EACH_QUORUM,
    )
    try:
        session.execute(statement, timeout=10)
    except Exception:
        return False
    return True


@pytest.mark.timeout(400)
def test_a_partition_is_real_and_hints_cross_it_after_the_heal(
    cluster_multi: tuple[LocalCluster, ClusterInfo], sessions: tuple[Session, Session]
) -> None:
    cluster, _ = cluster_multi
    one, two = sessions
    by_dc: dict[str, list[netfaults.Member]] = {}
    for node in cluster.state.nodes:
        assert cluster.is_running(node)
        assert node.pid is not None
        member = netfaults.Member(node.plan.name, node.plan.address, node.pid)
        by_dc.setdefault(node.plan.datacenter, []).append(member)
    table = netfaults.table_name(cluster.state.subnet)
    netfaults.partition(cluster.state.subnet, "proof", [by_dc["dc1"], by_dc["dc2"]], STORAGE_PORT)
    assert table in netfaults.tables()

    # each side's failure detector convicts the other side: DOWN in gossip, both ways
    seen_from_dc1 = _wait(lambda: _each_quorum_unavailable(one, 1), CONVICT_WITHIN, "dc2 DOWN")
    assert "dc2" in seen_from_dc1, seen_from_dc1
    seen_from_dc2 = _wait(lambda: _each_quorum_unavailable(two, 2), CONVICT_WITHIN, "dc1 DOWN")
    assert "dc1" in seen_from_dc2, seen_from_dc2

    # LOCAL_QUORUM in dc1 goes on, and none of it reaches dc2 while the cut lasts
    write = SimpleStatement(
        "INSERT INTO fault_proof.t (k, v) VALUES (%s, %s)",
        consistency_level=ConsistencyLevel.LOCAL_QUORUM,
    )
    keys = range(1000, 1000 + ROWS)
    for key in keys:
        one.execute(write, (key, key), timeout=10)
    local_one = SimpleStatement(
        f"SELECT k FROM fault_proof.t WHERE k IN ({', '.join(map(str, keys))})",
        consistency_level=ConsistencyLevel.LOCAL_ONE,
    )
    assert list(two.execute(local_one, timeout=10)) == []

    netfaults.heal(cluster.state.subnet, "proof")
    assert table not in netfaults.tables()
    # dc2 is only ever asked at LOCAL_ONE, so the rows arrive by hinted handoff, not read repair
    delivered = _wait(
        lambda: len(list(two.execute(local_one, timeout=10))) == ROWS,
        180,
        f"all {ROWS} hinted writes in dc2",
    )
    assert delivered


@pytest.mark.timeout(600)
def test_rf1_with_the_owning_node_killed_fails_the_suite_with_the_numbers(
    cluster_multi: tuple[LocalCluster, ClusterInfo], tmp_path: Path
) -> None:
    cluster, info = cluster_multi
    dc1 = info.datacenters["dc1"]
    manifest = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "rf1-kill"},
        "spec": {
            "cluster": {
                "existing": {"contactPoints": [dc1[0]], "localDatacenter": "dc1"},
                "datacenters": [{"name": "dc1", "size": 2, "replicationFactor": 1}],
            },
            "allowFaultsOnExisting": True,
            "timeout": "8m",
            "suites": [
                {
                    "name": "resilience",
                    # any failed request fails the suite: on a quiet machine the other node's
                    # keys answer in milliseconds, so failures stay a small share of requests
                    "params": {
                        "consistency": "ONE",
                        "duration": "24s",
                        "concurrency": 8,
                        "maxErrorRate": 0,
                    },
                }
            ],
            "faults": [
                {
                    "name": "kill-owner",
                    "action": "NodeKill",
                    "target": {"datacenter": "dc1", "node": 1},
                    "when": {"duringSuite": "resilience", "afterSeconds": 14},
                    "downFor": "10s",
                    "expectRecoveryWithin": "3m",
                }
            ],
        },
    }
    run = parse_testrun(manifest, known_suites={"resilience"})
    local = LocalRun(
        run,
        tmp_path / "rf1.yaml",
        options=RunOptions(workdir=tmp_path / "run", handle_signals=False),
    )
    status = local.execute()
    assert cluster.status() == dict.fromkeys(cluster.status(), "UP"), "a node stayed down"

    fault = status.faults[0]
    assert fault.phase == "Recovered", fault
    assert fault.targets == [dc1[1]]
    assert fault.injected_at
    assert fault.healed_at
    assert fault.recovered_at
    assert fault.injected_at < fault.healed_at < fault.recovered_at
    suite = status.suites[0]
    assert (status.phase, suite.phase) == ("Failed", "Failed"), status.message
    assert suite.metrics is not None
    assert suite.metrics.errors_by_kind, suite.metrics
    assert (suite.metrics.error_window_seconds or 0) > 5, suite.metrics
    failure = next(f for f in suite.failures if "max_error_rate" in f.test)
    assert "requests failed" in failure.message
    assert "> maxErrorRate" in failure.message
