"""The pool's book without clusters: claims, limits, expiry, TTLs, shapes and the spec rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from cqltest.errors import ClusterError, ManifestError
from cqltest.local import ClusterSpec, DatacenterSpec
from cqltest.local.jars import DEFAULT_VERSION
from cqltest.local.pool import Claimant, Limits, Pool
from cqltest.local.pooled import shape_of
from cqltest.local.state import Owner
from cqltest.model import TestRun, parse_testrun

ME = Claimant.current("me")


def _dead_claimant() -> Claimant:
    """The identity of a process that has exited (so its claims have expired)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    owner = Owner.of(process.pid)
    process.kill()
    process.wait()
    assert owner is not None
    return Claimant(owner.pid, owner.started, "dead-run")


def test_idle_cluster_of_the_shape_is_claimed_once(tmp_path: Path) -> None:
    pool = Pool("p", tmp_path)
    first = pool.claim("s1", "shape one", Limits(), ME, on_wait=print)
    assert not first.warm
    pool.provisioned(first, {"keyspaces": ["system"], "roles": []})
    pool.release(first, idle_ttl=60)
    again = pool.claim("s1", "shape one", Limits(), ME, on_wait=print)
    assert again.warm
    assert again.name == first.name
    assert again.baseline == {"keyspaces": ["system"], "roles": []}
    # the only cluster of the shape is claimed and the shape's limit is 1: no second claim
    with pytest.raises(ClusterError, match=r"maxPerShape.*claimTimeout|claimTimeout"):
        pool.claim("s1", "shape one", Limits(claim_timeout=0), ME, on_wait=print)


def test_a_claim_waits_for_a_release(tmp_path: Path) -> None:
    pool = Pool("p", tmp_path)
    held = pool.claim("s1", "one", Limits(), ME, on_wait=print)
    pool.provisioned(held, {})
    waits: list[str] = []
    got: list[str] = []
    waiter = threading.Thread(
        target=lambda: got.append(
            pool.claim("s1", "one", Limits(claim_timeout=30), ME, on_wait=waits.append).name
        )
    )
    waiter.start()
    time.sleep(1.0)
    assert not got
    assert "1/1 clusters of this shape are busy" in waits[0]
    pool.release(held, idle_ttl=60)
    waiter.join(timeout=10)
    assert got == [held.name]


def test_limits_per_pool_evict_idle_clusters_of_other_shapes(tmp_path: Path) -> None:
    pool = Pool("p", tmp_path)
    limits = Limits(max_clusters=1, claim_timeout=0)
    other = pool.claim("s1", "one", limits, ME, on_wait=print)
    pool.provisioned(other, {})
    with pytest.raises(ClusterError, match=r"1/1 clusters, all busy \(poolPolicy.maxClusters\)"):
        pool.claim("s2", "two", limits, ME, on_wait=print)
    pool.release(other, idle_ttl=60)
    mine = pool.claim("s2", "two", limits, ME, on_wait=print)
    assert not mine.warm
    assert [e.shape for e in pool.entries()] == ["s2"]


def test_a_dead_claimant_leaves_a_dirty_idle_cluster(tmp_path: Path) -> None:
    pool = Pool("p", tmp_path)
    ticket = pool.claim("s1", "one", Limits(), _dead_claimant(), on_wait=print)
    pool.provisioned(ticket, {})
    (entry,) = pool.entries()
    assert (entry.state, entry.dirty, entry.claimant) == ("idle", True, None)
    again = pool.claim("s1", "one", Limits(claim_timeout=0), ME, on_wait=print)
    assert (again.warm, again.dirty) == (True, True)


def test_a_dead_claimant_provisioning_frees_its_slot(tmp_path: Path) -> None:
    pool = Pool("p", tmp_path)
    pool.claim("s1", "one", Limits(), _dead_claimant(), on_wait=print)
    fresh = pool.claim("s1", "one", Limits(claim_timeout=0), ME, on_wait=print)
    assert not fresh.warm
    assert [e.name for e in pool.entries()] == [fresh.name]


def test_idle_clusters_expire_after_their_ttl(tmp_path: Path) -> None:
    pool = Pool("p", tmp_path)
    kept = pool.claim("s1", "one", Limits(max_per_shape=2), ME, on_wait=print)
    gone = pool.claim("s1", "one", Limits(max_per_shape=2), ME, on_wait=print)
    pool.release(kept, idle_ttl=3600)
    pool.release(gone, idle_ttl=0)
    assert [e.name for e in pool.entries()] == [kept.name]
    assert pool.prune() == []
    assert pool.prune(everything=True) == [kept.name]
    assert pool.entries() == []


def test_shape_ignores_the_name_and_resolves_the_version() -> None:
    one = ClusterSpec(name="a", datacenters=[DatacenterSpec("dc1", 1)])
    same = ClusterSpec(name="b", datacenters=[DatacenterSpec("dc1", 1)], version=DEFAULT_VERSION)
    assert shape_of(one)[0] == shape_of(same)[0]
    assert shape_of(one)[1].startswith(DEFAULT_VERSION)
    for different in (
        ClusterSpec(name="a", datacenters=[DatacenterSpec("dc1", 2)]),
        ClusterSpec(name="a", datacenters=[DatacenterSpec("dc1", 1, ["r1"])]),
        ClusterSpec(name="a", datacenters=[DatacenterSpec("dc1", 1)], authentication=True),
        ClusterSpec(name="a", datacenters=[DatacenterSpec("dc1", 1)], heap="512M"),
    ):
        assert shape_of(different)[0] != shape_of(one)[0], different


MANIFEST = """
apiVersion: cqltest.dev/v1alpha1
kind: TestRun
metadata: {{name: pooled}}
spec:
  cluster:
{cluster}
  suites: [{{name: smoke}}]
"""


def _parse(cluster: str) -> TestRun:
    return parse_testrun(yaml.safe_load(MANIFEST.format(cluster=cluster)))


def _problems(cluster: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        _parse(cluster)
    return [str(p) for p in info.value.problems]


def test_reuse_spec_rules_name_the_field() -> None:
    run = _parse(
        "    datacenters: [{name: dc1, size: 1}]\n    reuse: true\n"
        "    poolPolicy: {maxPerShape: 2, idleTtl: 0s}"
    )
    assert run.spec.cluster.pool_name == "default"
    assert run.spec.cluster.pool_policy is not None
    assert run.spec.cluster.pool_policy.max_per_shape == 2
    assert _problems(
        "    reuse: true\n    existing: {contactPoints: [127.0.0.1], localDatacenter: dc1}"
    ) == [
        "spec.cluster.reuse: reuse only applies to a provisioned cluster; an existing cluster "
        "is never pooled (remove reuse or existing)"
    ]
    assert _problems("    datacenters: [{name: dc1, size: 1}]\n    pool: fast") == [
        "spec.cluster.pool: pool only applies with reuse: true"
    ]
    assert _problems(
        "    datacenters: [{name: dc1, size: 1}]\n    reuse: true\n"
        "    poolPolicy: {maxClusters: 1, maxPerShape: 2}"
    ) == [
        "spec.cluster.poolPolicy.maxPerShape: maxPerShape 2 exceeds maxClusters 1; it must be "
        "at most maxClusters"
    ]


def test_pool_list_and_prune_commands(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from cqltest.cli.app import main

    pool = Pool("p", tmp_path)
    held = pool.claim("s1", "one", Limits(max_per_shape=2), Claimant.current("holder"), print)
    idle = pool.claim("s1", "one", Limits(max_per_shape=2), ME, on_wait=print)
    pool.release(idle, idle_ttl=3600)
    runner = CliRunner()
    listed = runner.invoke(main, ["pool", "list", "--root", str(tmp_path), "-o", "json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["cluster"]: row for row in json.loads(listed.output)}
    # the idle entry has no cluster behind it (never provisioned here): unhealthy
    assert rows[idle.name]["state"] == "unhealthy"
    assert rows[idle.name]["idleSince"] is not None
    assert rows[held.name]["state"] == "provisioning"
    assert rows[held.name]["claimant"] == {"run": "holder", "pid": os.getpid()}
    pruned = runner.invoke(main, ["pool", "prune", "--root", str(tmp_path), "--all", "-o", "json"])
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.output) == [{"pool": "p", "cluster": idle.name}]
    assert [e.name for e in pool.entries()] == [held.name]
