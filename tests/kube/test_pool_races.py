"""Pool claims against a real apiserver: two runs racing for one cluster never both get it.

The claimers read the pool, meet at a barrier (so both hold the same resourceVersion), then
write: the apiserver's precondition must turn one write away with 409, and the loser, reading
again, must see the cluster held by a live run and wait. No Helm release is installed: claims
and reservations are only the slot ConfigMaps and the K8ssandraCluster's annotations.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cqltest.kube import objects
from cqltest.kube.client import Kube
from cqltest.kube.errors import Conflict
from cqltest.kube.helm import Releases
from cqltest.kube.pool import PoolClient
from cqltest.localkube.controlplane import ControlPlane
from cqltest.model.claims import (
    ANNOTATION_BASELINE,
    ANNOTATION_CLAIMED_BY,
    ANNOTATION_IDLE_SINCE,
    ANNOTATION_IDLE_TTL,
    ANNOTATION_INDEX,
    ANNOTATION_RETIRING,
    LABEL_POOL,
    LABEL_SHAPE,
    Claimant,
    Decision,
    Limits,
    Member,
)

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
SHAPE = "abcdef0123"
ROUNDS = 5


class RacingPool(PoolClient):
    """A pool client whose claimers meet after reading, and which counts lost writes."""

    def __init__(self, kube: Kube, namespace: str, barrier: threading.Barrier) -> None:
        super().__init__(kube, Releases(None), namespace, "race")
        self.barrier = barrier
        self.conflicts = 0
        self.first_read = True

    def members(self) -> list[Member]:
        read = super().members()
        if self.first_read:
            self.first_read = False
            self.barrier.wait(timeout=30)
        return read

    def _patch(self, member: Member, patch: dict[str, Any]) -> None:
        try:
            super()._patch(member, patch)
        except Conflict:
            self.conflicts += 1
            raise

    def _reserve(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        slot = super()._reserve(*args, **kwargs)
        self.conflicts += slot is None
        return slot


def create_testrun(control_plane: ControlPlane, namespace: str, name: str) -> Claimant:
    manifest = yaml.safe_load((ROOT / "manifests" / "examples" / "smoke.yaml").read_text())
    manifest["metadata"] = {"name": name, "namespace": namespace}
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    uid = control_plane.kubectl(
        "get", "testrun", name, "-n", namespace, "-o", "jsonpath={.metadata.uid}"
    ).stdout.strip()
    return Claimant(namespace, name, uid)


def idle_cluster(kube: Kube, namespace: str, release: str) -> None:
    slot = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": release,
            "namespace": namespace,
            "labels": {LABEL_POOL: "race", LABEL_SHAPE: SHAPE},
            "annotations": {ANNOTATION_INDEX: "0"},
        },
    }
    assert objects.create_new(kube, slot) is not None
    cluster = {
        "apiVersion": "k8ssandra.io/v1alpha1",
        "kind": "K8ssandraCluster",
        "metadata": {
            "name": release,
            "labels": {
                LABEL_POOL: "race",
                LABEL_SHAPE: SHAPE,
                "app.kubernetes.io/instance": release,
            },
            "annotations": {
                ANNOTATION_IDLE_SINCE: "2026-01-01T00:00:00Z",
                ANNOTATION_IDLE_TTL: "1e9",
                ANNOTATION_BASELINE: '{"keyspaces": [], "roles": []}',
            },
        },
        "spec": {
            "cassandra": {
                "serverVersion": "5.0.9",
                "datacenters": [{"metadata": {"name": "dc1"}, "size": 1}],
            }
        },
    }
    kube.custom.create_namespaced_custom_object(
        "k8ssandra.io", "v1alpha1", namespace, "k8ssandraclusters", cluster
    )


@dataclass
class Seeded:
    """Two live runs and one idle pooled cluster in a fresh namespace."""

    kube: Kube
    pool: PoolClient
    a: Claimant
    b: Claimant


@pytest.fixture
def seeded(
    control_plane: ControlPlane, crds: None, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Seeded]:
    monkeypatch.setenv("CQLTEST_HELM", str(control_plane.helm))
    a, b = (create_testrun(control_plane, namespace, n) for n in ("run-a", "run-b"))
    kube = Kube.connect(control_plane.kubeconfig)
    try:
        idle_cluster(kube, namespace, "pool-race-abcdef0123-0")
        yield Seeded(kube, PoolClient(kube, Releases(None), namespace, "race"), a, b)
    finally:
        kube.close()


def race(
    control_plane: ControlPlane, namespace: str, claimants: list[Claimant]
) -> tuple[list[Decision], int]:
    barrier = threading.Barrier(len(claimants))
    decisions: list[Decision | None] = [None] * len(claimants)
    conflicts = [0] * len(claimants)
    errors: list[BaseException] = []

    def claim(index: int) -> None:
        kube = Kube.connect(control_plane.kubeconfig)
        try:
            pool = RacingPool(kube, namespace, barrier)
            now = datetime.now(UTC)
            decisions[index] = pool.claim(SHAPE, "5.0.9 dc1:1", Limits(4, 1), claimants[index], now)
            conflicts[index] = pool.conflicts
        except BaseException as exc:
            errors.append(exc)
        finally:
            kube.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(claimants))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return [d for d in decisions if d is not None], sum(conflicts)


def test_two_claimers_of_one_idle_cluster_exactly_one_wins(
    control_plane: ControlPlane, namespace: str, seeded: Seeded
) -> None:
    kube, pool, a, b = seeded.kube, seeded.pool, seeded.a, seeded.b
    for _ in range(ROUNDS):  # the winner gives the cluster back for the next race
        decisions, conflicts = race(control_plane, namespace, [a, b])
        assert sorted(d.kind for d in decisions) == ["mine", "wait"], decisions
        assert conflicts == 1
        winner = next(d for d in decisions if d.kind == "mine")
        assert winner.member is not None
        holder = winner.member.claimant
        assert holder is not None
        assert holder in (a, b)
        waiting = next(d for d in decisions if d.kind == "wait")
        assert waiting.message == f"1/1 clusters of this shape claimed by {holder}"
        read = objects.get_custom(kube, *objects.K8SSANDRA, namespace, "pool-race-abcdef0123-0")
        assert read is not None
        assert read["metadata"]["annotations"][ANNOTATION_CLAIMED_BY] == holder.text()
        assert pool.release(holder, datetime.now(UTC), 1e9) == "pool-race-abcdef0123-0"


def test_two_runs_reserving_the_last_slot_exactly_one_provisions(
    control_plane: ControlPlane, crds: None, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CQLTEST_HELM", str(control_plane.helm))
    a, b = (create_testrun(control_plane, namespace, n) for n in ("run-a", "run-b"))
    decisions, conflicts = race(control_plane, namespace, [a, b])
    assert sorted(d.kind for d in decisions) == ["provision", "wait"], decisions
    assert conflicts == 1
    slots = control_plane.kubectl(
        "get", "configmap", "-n", namespace, "-l", f"{LABEL_POOL}=race", "-o", "name"
    ).stdout.split()
    assert slots == ["configmap/pool-race-abcdef0123-0"]


def test_a_claim_whose_run_is_gone_expires_and_the_next_claimant_resets(
    control_plane: ControlPlane, namespace: str, seeded: Seeded
) -> None:
    pool, a, b = seeded.pool, seeded.a, seeded.b
    now = datetime.now(UTC)
    assert pool.claim(SHAPE, "", Limits(4, 1), a, now).kind == "mine"
    assert pool.claim(SHAPE, "", Limits(4, 1), b, now).kind == "wait"
    control_plane.kubectl("delete", "testrun", "run-a", "-n", namespace)
    taken = pool.claim(SHAPE, "", Limits(4, 1), b, now)
    assert taken.kind == "mine"
    assert taken.member is not None
    assert (taken.member.claimant, taken.member.dirty) == (b, True)


def test_idle_clusters_past_their_ttl_and_orphaned_reservations_are_retired(
    control_plane: ControlPlane, namespace: str, seeded: Seeded
) -> None:
    kube = seeded.kube
    pool = PoolClient(kube, Releases(control_plane.kubeconfig), namespace, "race")
    reserved = pool.claim("0123456789", "", Limits(4, 1), seeded.a, datetime.now(UTC))
    assert reserved.kind == "provision"
    control_plane.kubectl("delete", "testrun", "run-a", "-n", namespace)
    # the reservation of a run that is gone goes at once; the idle cluster when its ttl is up
    early = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert pool.expire(early) == ["pool-race-0123456789-0"]
    assert pool.expire(datetime(3000, 1, 1, tzinfo=UTC)) == ["pool-race-abcdef0123-0"]
    assert not objects.list_labelled(kube, "ConfigMap", namespace, LABEL_POOL)
    gone = objects.get_custom(kube, *objects.K8SSANDRA, namespace, "pool-race-abcdef0123-0")
    assert gone is None or ANNOTATION_RETIRING in gone["metadata"]["annotations"]


def test_a_cluster_that_never_passed_its_probe_is_retired_not_kept(
    control_plane: ControlPlane, namespace: str, seeded: Seeded
) -> None:
    kube, a = seeded.kube, seeded.a
    pool = PoolClient(kube, Releases(control_plane.kubeconfig), namespace, "race")
    assert pool.claim(SHAPE, "", Limits(4, 1), a, datetime.now(UTC)).kind == "mine"
    unproven = {"metadata": {"annotations": {ANNOTATION_BASELINE: None}}}
    name = "pool-race-abcdef0123-0"
    assert objects.patch_custom(kube, *objects.K8SSANDRA, namespace, name, unproven) is not None
    assert pool.release(a, datetime.now(UTC), 1e9) == name
    assert not objects.list_labelled(kube, "ConfigMap", namespace, LABEL_POOL)
