"""``python -m cqlsuites probe --nodes``: the operator's recovery check, against real nodes.

A stopped node fails it (it answers no CQL), the same node started again passes it once its
peers hear its gossip heartbeat; with authentication and client TLS it connects as a suite does.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cqltest.local import ClusterInfo
from cqltest.local.cluster import LocalCluster
from cqltest.render.environment import Connection, connection_variables

pytestmark = pytest.mark.cassandra


def recovery(
    info: ClusterInfo, nodes: list[str], observers: list[str], timeout: int
) -> subprocess.CompletedProcess[str]:
    connection = Connection(
        tuple(info.contact_points),
        port=info.port,
        username=info.username,
        password=info.password,
        ca_path=info.ca_path,
    )
    command = [sys.executable, "-m", "cqlsuites", "probe", "--timeout", str(timeout)]
    command += ["--nodes", ",".join(nodes)]
    if observers:
        command += ["--observers", ",".join(observers)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")}
    return subprocess.run(
        command,
        env={**clean, **connection_variables(connection)},
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        check=False,
    )


def test_a_stopped_node_is_not_recovered_until_it_is_back_and_heard(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    cluster, info = cluster_multi
    [target] = info.datacenters["dc2"]
    peers = info.datacenters["dc1"]
    done = recovery(info, [target], peers, 30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cqlsuites probe: recovered: {target}"
    cluster.stop_node(target)
    try:
        done = recovery(info, [target], peers, 3)
        assert done.returncode == 1
        assert "not recovered within 3s" in done.stderr
        assert f"{target} does not answer CQL" in done.stderr
    finally:
        cluster.start_node(target, timeout=120)
    done = recovery(info, [target], peers, 120)
    assert done.returncode == 0, done.stderr


def test_the_recovery_probe_logs_in_over_tls(cluster_secure: ClusterInfo) -> None:
    [node] = cluster_secure.contact_points
    done = recovery(cluster_secure, [node], [], 30)
    assert done.returncode == 0, done.stderr
