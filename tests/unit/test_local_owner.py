"""Throwaway clusters and their owners: who is alive, what gets reaped, what a pause looks like.

No Cassandra here: a cluster directory holds a real state file and a real subnet claim, with
no node running, which is all reaping looks at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cqltest.local import ClusterSpec, DatacenterSpec, LocalCluster, state
from cqltest.local.nodes import is_paused
from cqltest.local.topology import plan_nodes


def dead_owner() -> state.Owner:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = state.Owner(child.pid, state._start_time(child.pid) or 0)
    child.wait()
    return owner


def test_owner_alive_follows_the_process_and_its_start_time() -> None:
    assert state.Owner.current().alive()
    assert not dead_owner().alive()
    me = state.Owner.current()
    assert not state.Owner(me.pid, me.started + 1).alive()  # same pid, another process


@pytest.fixture
def fake_cluster(tmp_path: Path) -> Iterator[tuple[Path, state.ClusterState]]:
    """A written cluster (state file + subnet claim) whose nodes never ran."""
    spec = ClusterSpec(name="fake", datacenters=[DatacenterSpec("dc1", 1)])
    directory = tmp_path / "fake"
    directory.mkdir()
    subnet = state.claim_subnet(directory, lambda _: True)
    cluster_state = state.ClusterState(
        spec=spec,
        version="5.0.9",
        subnet=subnet,
        nodes=[state.NodeState(plan) for plan in plan_nodes(spec, subnet)],
    )
    yield directory, cluster_state
    state.release_subnet(subnet, directory)


def test_a_dead_owners_cluster_is_reaped(fake_cluster: tuple[Path, state.ClusterState]) -> None:
    directory, cluster_state = fake_cluster
    cluster_state.owner = dead_owner()
    state.save(directory, cluster_state)
    LocalCluster.reap_orphans()
    assert not directory.exists()
    assert directory not in state.claimed_cluster_dirs()


@pytest.mark.parametrize("owner", ["alive", "none", "disowned"])
def test_live_unowned_and_disowned_clusters_stay(
    fake_cluster: tuple[Path, state.ClusterState], owner: str
) -> None:
    directory, cluster_state = fake_cluster
    cluster_state.owner = state.Owner.current() if owner == "alive" else dead_owner()
    if owner == "none":
        cluster_state.owner = None
    state.save(directory, cluster_state)
    if owner == "disowned":
        LocalCluster(directory, state.load(directory)).disown()
        assert state.load(directory).owner is None
    assert str(directory) not in LocalCluster.reap_orphans()
    assert (directory / state.STATE_FILE).exists()


def test_disown_of_a_removed_cluster_is_harmless(
    fake_cluster: tuple[Path, state.ClusterState],
) -> None:
    directory, cluster_state = fake_cluster
    cluster_state.owner = state.Owner.current()
    cluster = LocalCluster(directory, cluster_state)
    cluster.disown()  # no state file: `cqltest cluster down` got there first
    assert not (directory / state.STATE_FILE).exists()


def test_is_paused_waits_for_every_thread() -> None:
    code = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()\n"
    child = subprocess.Popen([sys.executable, "-c", code + "time.sleep(60)"])
    try:
        time.sleep(0.3)
        assert not is_paused(child.pid)
        os.kill(child.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not is_paused(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert is_paused(child.pid)
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(0.1)
        assert not is_paused(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not is_paused(child.pid)
