"""Session-scoped real Cassandra clusters shared by every test under tests/cassandra/.

Starting a cluster costs seconds to tens of seconds, so each topology is started once per
session, lazily (only if a test asks for it), under a tmp root, and always destroyed at the end,
even when tests fail. A cluster that does not come up fails the requesting tests with the
ClusterError message, which carries the failing node's log tail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cqltest.local import ClusterInfo, ClusterSpec, DatacenterSpec, LocalCluster

START_TIMEOUT = 180.0


@contextlib.contextmanager
def _started(spec: ClusterSpec, root: Path) -> Iterator[tuple[LocalCluster, ClusterInfo]]:
    # owned: if this pytest process is killed, the next session reaps the nodes
    cluster = LocalCluster.create(spec, root=root, owned=True)
    try:
        info = cluster.start(timeout=START_TIMEOUT)
        yield cluster, info
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def cassandra_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tmp root holding every session cluster (so they never touch ~/.local/share)."""
    return tmp_path_factory.mktemp("clusters")


@pytest.fixture(scope="session")
def cluster_single(cassandra_root: Path) -> Iterator[ClusterInfo]:
    """A 1-node cluster (dc1), no authentication, no TLS."""
    spec = ClusterSpec(name="single", datacenters=[DatacenterSpec("dc1", 1)])
    with _started(spec, cassandra_root) as (_, info):
        yield info


@pytest.fixture(scope="session")
def cluster_multi(cassandra_root: Path) -> Iterator[tuple[LocalCluster, ClusterInfo]]:
    """3 nodes over 2 DCs (dc1: 2 nodes on racks r1, r2; dc2: 1 node), internode TLS on.

    Tests that stop or kill a node must start it again before returning (try/finally).
    """
    spec = ClusterSpec(
        name="multi",
        datacenters=[DatacenterSpec("dc1", 2, ["r1", "r2"]), DatacenterSpec("dc2", 1)],
        internode_tls=True,
    )
    with _started(spec, cassandra_root) as started:
        yield started


@pytest.fixture(scope="session")
def cluster_secure(cassandra_root: Path) -> Iterator[ClusterInfo]:
    """A 1-node cluster with PasswordAuthenticator and client TLS (CA in ``info.ca_path``)."""
    spec = ClusterSpec(
        name="secure",
        datacenters=[DatacenterSpec("dc1", 1)],
        authentication=True,
        client_tls=True,
    )
    with _started(spec, cassandra_root) as (_, info):
        yield info
