"""The operator-mode pool's claims and replacements, run against a fake Kubernetes API.

``test_pool_claims`` checks the pure rules one decision at a time; here the real
:class:`PooledRun`, :class:`PoolClient` and :class:`RunWorld` code reads and writes slots and
K8ssandraClusters through :class:`fake_kube.FakeApi`, so what is shown is the whole path: a
warm cluster failing its reset is uninstalled and the run ends Ready on a new one, and
``maxPerShape`` decides whether two runs of one shape claiming at once share a wait or get a
cluster each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cqltest.engine import Observed
from cqltest.engine.observed import ClusterObserved
from cqltest.kube import access, faults, pool, pooled, world
from cqltest.model import TestRunSpec, parse_testrun
from cqltest.model.claims import (
    ANNOTATION_BASELINE,
    ANNOTATION_CLAIMED_BY,
    ANNOTATION_DIRTY,
    ANNOTATION_UNHEALTHY,
)
from cqltest.render.pods import Owner
from fake_kube import INSTANCE, FakeApi, FakeHelm

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BASELINE = '{"keyspaces": ["app"], "roles": ["app_user"]}'


def manifest(name: str, max_per_shape: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {
            "cluster": {
                "datacenters": [{"name": "dc1", "size": 1}],
                "reuse": True,
                "pool": "p",
                "poolPolicy": {"maxPerShape": max_per_shape},
            },
            "suites": [{"name": "smoke", "suite": "smoke"}],
        },
    }


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi()
    for module in (access, faults, pool, pooled, world):
        monkeypatch.setattr(module, "objects", fake)
    return fake


def spec_of(obj: dict[str, Any]) -> TestRunSpec:
    return parse_testrun(obj).spec


def run_world(api: FakeApi, helm: FakeHelm, name: str) -> world.RunWorld:
    """One reconcile's RunWorld (nothing kept between them), for a TestRun in the fake API."""
    obj = api.store["TestRun"].get(name) or api.add(manifest(name))
    settings = world.Settings(default_image="img")
    return world.RunWorld(None, helm, obj, spec_of(obj), None, settings, lambda: NOW)  # type: ignore[arg-type]


def reconcile(api: FakeApi, helm: FakeHelm, name: str) -> ClusterObserved:
    """A reconcile while the status says Provisioning: what the cluster is now."""
    observed = Observed(ClusterObserved("Provisioning", started_at=NOW), NOW)
    run = run_world(api, helm, name)
    run.advance_cluster(observed)
    return run.observe().cluster


def the_probe(api: FakeApi) -> dict[str, Any]:
    (job,) = api.store["Job"].values()
    return job


def finish_probe(api: FakeApi, *, ok: bool, log: str = "", message: str = "") -> None:
    """The probe Job ends; its pod leaves a log (a baseline) or a termination message."""
    job = the_probe(api)
    kind = "Complete" if ok else "Failed"
    job["status"] = {"conditions": [{"type": kind, "status": "True"}]}
    pod = f"{job['metadata']['name']}-pod"
    state = {"terminated": {"message": message}}
    api.add(
        {
            "kind": "Pod",
            "metadata": {"name": pod, "labels": {"job-name": job["metadata"]["name"]}},
            "status": {"containerStatuses": [{"state": state}]},
        }
    )
    api.logs[pod] = log


def the_cluster(api: FakeApi) -> dict[str, Any]:
    (cluster,) = api.store["K8ssandraCluster"].values()
    return cluster


def test_a_warm_cluster_failing_its_reset_is_uninstalled_and_replaced(api: FakeApi) -> None:
    helm = FakeHelm(api)
    # run-a provisions the pool's cluster, probes it (recording its baseline), gives it back
    assert reconcile(api, helm, "run-a").state == "Provisioning"
    finish_probe(api, ok=True, log=f"dropping nothing\n{BASELINE}\n")
    assert reconcile(api, helm, "run-a").state == "Ready"
    run_world(api, helm, "run-a").teardown_cluster()
    warm = the_cluster(api)
    release = warm["metadata"]["labels"][INSTANCE]
    assert warm["metadata"]["annotations"][ANNOTATION_DIRTY] == "true"
    assert helm.history == [("install", release)]

    # run-b takes the warm cluster; its reset Job fails
    assert reconcile(api, helm, "run-b").state == "Provisioning"
    assert the_cluster(api)["metadata"]["uid"] == warm["metadata"]["uid"]
    finish_probe(api, ok=False, message="reset: keyspace app_junk would not drop")
    replacing = reconcile(api, helm, "run-b")
    assert replacing.state == "Provisioning"
    assert replacing.message == (
        f"pool cluster {release} failed its health check "
        "(reset: keyspace app_junk would not drop); replacing it"
    )
    assert helm.history == [("install", release), ("uninstall", release)]
    assert api.store["K8ssandraCluster"] == {}
    assert api.store["Job"] == {}
    assert warm["metadata"]["annotations"][ANNOTATION_UNHEALTHY].startswith("reset: keyspace")

    # the next reconcile provisions a new cluster for run-b, which becomes Ready on it
    reconcile(api, helm, "run-b")
    fresh = the_cluster(api)
    assert fresh["metadata"]["uid"] != warm["metadata"]["uid"]
    assert helm.history[-1] == ("install", release)
    assert fresh["metadata"]["annotations"][ANNOTATION_CLAIMED_BY] == "ns/run-b/uid-run-b"
    finish_probe(api, ok=True, log=BASELINE)
    ready = reconcile(api, helm, "run-b")
    assert (ready.state, ready.name) == ("Ready", fresh["metadata"]["name"])
    notes = fresh["metadata"]["annotations"]
    assert ANNOTATION_UNHEALTHY not in notes
    assert ANNOTATION_DIRTY not in notes
    assert notes[ANNOTATION_BASELINE] == '{"keyspaces": ["app"], "roles": ["app_user"]}'


def pooled_run(api: FakeApi, helm: FakeHelm, name: str, max_per_shape: int) -> pooled.PooledRun:
    obj = api.store["TestRun"].get(name) or api.add(manifest(name, max_per_shape))
    owner = Owner(name, "ns", obj["metadata"]["uid"])
    return pooled.PooledRun(None, helm, owner, spec_of(obj), lambda: NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("max_per_shape", [1, 2])
def test_two_runs_of_one_shape_claiming_at_once_share_only_what_max_per_shape_allows(
    api: FakeApi, max_per_shape: int
) -> None:
    helm = FakeHelm(api)
    first = pooled_run(api, helm, "run-a", max_per_shape)
    second = pooled_run(api, helm, "run-b", max_per_shape)
    # both read the empty pool; run-a's reservation lands between run-b's read and its write
    first_claim: dict[str, str | None] = {}
    api.before_create = lambda _: first_claim.update(outcome=first.claim(NOW))
    waiting = second.claim(NOW)
    assert first_claim == {"outcome": None}  # run-a claimed, inside run-b's claim, and holds
    slots = sorted(api.store["ConfigMap"])
    if max_per_shape == 2:
        assert waiting is None
        assert first.cluster is not None
        assert second.cluster is not None
        assert first.cluster != second.cluster
        assert [r.rsplit("-", 1)[1] for r in slots] == ["0", "1"]
        assert len(api.store["K8ssandraCluster"]) == 2
        third = pooled_run(api, helm, "run-c", max_per_shape).claim(NOW)
        assert third is not None
        assert "2/2 clusters of this shape claimed" in third
    else:
        assert second.cluster is None
        assert waiting is not None
        assert "1/1 clusters of this shape claimed by ns/run-a" in waiting
        assert len(slots) == 1
        assert len(api.store["K8ssandraCluster"]) == 1
