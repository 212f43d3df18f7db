"""Operator-mode pool rules: shapes, release names, claim decisions (pure, no apiserver)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cqltest.model import ClusterSpec
from cqltest.model.claims import (
    ANNOTATION_BASELINE,
    ANNOTATION_CLAIMED_BY,
    ANNOTATION_IDLE_SINCE,
    ANNOTATION_IDLE_TTL,
    ANNOTATION_INDEX,
    LABEL_SHAPE,
    Claimant,
    Limits,
    Member,
    claim_patch,
    decide,
    member_of,
    release_patch,
    stale,
)
from cqltest.model.pool import cluster_shape, pooled_release

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ME = Claimant("ns", "run-b", "uid-b")
OTHER = Claimant("ns", "run-a", "uid-a")


def spec(**changes: object) -> ClusterSpec:
    base: dict[str, object] = {"datacenters": [{"name": "dc1", "size": 1}], "reuse": True}
    return ClusterSpec.model_validate({**base, **changes})


def member(index: int = 0, shape: str = "s1", **changes: object) -> Member:
    fields: dict[str, object] = {
        "release": f"pool-p-{shape}-{index}",
        "shape": shape,
        "shape_text": "",
        "index": index,
        "slot_version": "1",
        "cluster": f"pool-p-{shape}-{index}",
        "version": "7",
    }
    return Member(**{**fields, **changes})  # type: ignore[arg-type]


def idle(index: int = 0, shape: str = "s1", ago: float = 10, ttl: float = 600) -> Member:
    return member(index, shape, idle_since=NOW - timedelta(seconds=ago), idle_ttl=ttl)


def test_shape_ignores_how_the_run_uses_the_cluster() -> None:
    plain, _ = cluster_shape(spec(), "5.0.9")
    used = spec(pool="other", teardown="Never", readyTimeout="5m", poolPolicy={"maxClusters": 2})
    assert cluster_shape(used, "5.0.9")[0] == plain


def test_shape_changes_with_what_makes_clusters_different() -> None:
    plain, text = cluster_shape(spec(), "5.0.9")
    assert text == "5.0.9 dc1:1"
    others = [
        cluster_shape(spec(), "4.1.5")[0],
        cluster_shape(spec(datacenters=[{"name": "dc1", "size": 3}]), "5.0.9")[0],
        cluster_shape(spec(datacenters=[{"name": "dc1", "size": 1, "racks": ["r1"]}]), "5.0.9")[0],
        cluster_shape(spec(security={"authentication": True}), "5.0.9")[0],
        cluster_shape(spec(resources={"heap": "1Gi"}), "5.0.9")[0],
    ]
    assert len({plain, *others}) == 6
    assert re.fullmatch(r"[0-9a-f]{10}", plain)


def test_release_names_are_dns_safe_and_fit_helm() -> None:
    assert pooled_release("default", "0123456789", 0) == "pool-default-0123456789-0"
    long_a, long_b = "a" * 60 + "x", "a" * 60 + "y"
    names = {pooled_release(p, "0123456789", 12) for p in (long_a, long_b)}
    assert len(names) == 2
    for name in names:
        assert len(name) <= 53
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)


def test_an_idle_cluster_of_the_shape_is_taken_oldest_first() -> None:
    members = [idle(0, ago=5), idle(1, ago=50), idle(2, shape="s2", ago=500)]
    decision = decide(members, "s1", Limits(4, 3), ME, {"uid-a"}, NOW)
    assert decision.kind == "take"
    assert decision.member == members[1]


def test_a_run_finds_the_cluster_it_already_holds() -> None:
    mine = member(1, claimant=ME)
    decision = decide([idle(0), mine], "s1", Limits(), ME, {"uid-b"}, NOW)
    assert decision.kind == "mine"
    assert decision.member == mine


def test_a_claim_of_a_run_that_is_gone_has_expired() -> None:
    held = member(0, claimant=OTHER)
    assert decide([held], "s1", Limits(), ME, set(), NOW).kind == "take"
    assert claim_patch(held, ME, NOW)["metadata"]["annotations"]["cqltest.dev/dirty"] == "true"


def test_full_shape_waits_and_names_the_holder() -> None:
    decision = decide([member(0, claimant=OTHER)], "s1", Limits(4, 1), ME, {"uid-a"}, NOW)
    assert decision.kind == "wait"
    assert decision.message == "1/1 clusters of this shape claimed by ns/run-a"


def test_room_in_the_shape_provisions_the_first_free_index() -> None:
    members = [member(0, claimant=OTHER), member(2, claimant=OTHER)]
    decision = decide(members, "s1", Limits(4, 3), ME, {"uid-a"}, NOW)
    assert decision.kind == "provision"
    assert decision.index == 1


def test_a_full_pool_evicts_an_idle_cluster_of_another_shape() -> None:
    members = [member(0, "s2", claimant=OTHER), idle(0, "s3", ago=30), idle(1, "s3", ago=90)]
    decision = decide(members, "s1", Limits(3, 1), ME, {"uid-a"}, NOW)
    assert decision.kind == "evict"
    assert decision.member == members[2]
    busy = [member(0, "s2", claimant=OTHER)]
    waiting = decide(busy, "s1", Limits(1, 1), ME, {"uid-a"}, NOW)
    assert waiting.kind == "wait"
    assert waiting.message == ("1/1 clusters in the pool, none idle by ns/run-a")


def test_stale_members_are_idle_past_ttl_or_reserved_by_the_dead() -> None:
    old, fresh = idle(0, ago=700, ttl=600), idle(1, ago=10)
    orphan = member(2, cluster=None, version=None, claimant=OTHER)
    building = member(3, cluster=None, version=None, claimant=ME)
    assert stale([old, fresh, orphan, building], {"uid-b"}, NOW) == [old, orphan]


def test_members_are_read_from_slot_and_cluster() -> None:
    slot = {
        "metadata": {
            "name": "pool-p-s1-2",
            "resourceVersion": "3",
            "labels": {LABEL_SHAPE: "s1"},
            "annotations": {ANNOTATION_INDEX: "2", ANNOTATION_CLAIMED_BY: OTHER.text()},
        }
    }
    assert member_of(slot, None).claimant == OTHER
    cluster = {
        "metadata": {
            "name": "pool-p-s1-2",
            "resourceVersion": "9",
            "annotations": {
                ANNOTATION_IDLE_SINCE: "2026-01-01T00:00:00Z",
                ANNOTATION_IDLE_TTL: "60",
                ANNOTATION_BASELINE: '{"keyspaces": ["k"], "roles": []}',
            },
        }
    }
    read = member_of(slot, cluster)
    assert (read.claimant, read.index, read.version, read.idle_ttl) == (None, 2, "9", 60.0)
    assert read.baseline == {"keyspaces": ["k"], "roles": []}
    assert read.state(set(), NOW + timedelta(seconds=59)) == "idle"
    assert read.state(set(), NOW + timedelta(seconds=60)) == "stale"
    patch = release_patch(read, NOW, 60)
    assert patch["metadata"]["resourceVersion"] == "9"
    assert patch["metadata"]["annotations"][ANNOTATION_CLAIMED_BY] is None


def test_the_reset_job_drops_only_for_a_dirty_cluster() -> None:
    from cqltest.render.environment import Connection
    from cqltest.render.pods import Owner
    from cqltest.render.pool import render_reset_job

    owner = Owner("run", "ns", "uid")
    connection = Connection(contact_points=("svc",), local_dc="dc1")
    fresh = render_reset_job(owner, 1, connection, image="img", kept=None)
    command = fresh["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:4] == ["python", "-m", "cqlsuites", "reset"]
    assert "--drop" not in command
    dirty = render_reset_job(
        owner, 2, connection, image="img", kept={"keyspaces": ["k"], "roles": ["r"]}
    )
    command = dirty["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-3:] == ["--drop", "--keep-keyspace=k", "--keep-role=r"]
    assert dirty["metadata"]["labels"]["cqltest.dev/component"] == "probe"


def test_the_baseline_is_the_last_json_line_of_the_reset_log() -> None:
    from cqltest.kube.pooled import baseline_of

    log = 'noise\n{"keyspaces": ["a"], "roles": ["r"]}\n{not json\n'
    assert baseline_of(log) == {"keyspaces": ["a"], "roles": ["r"]}
    assert baseline_of("cqlsuites reset: NoHostAvailable") is None


def test_pooled_values_carry_pool_labels_and_claim_not_the_run() -> None:
    from cqltest.render.cluster import PoolValues, cluster_values

    claim = {ANNOTATION_CLAIMED_BY: ME.text()}
    values = cluster_values(
        "pool-p-abc-0",
        spec(),
        tls_secrets=None,
        superuser_secret=None,
        pool=PoolValues("p", {LABEL_SHAPE: "abc"}, claim),
    )
    assert "testRun" not in values
    assert "owner" not in values
    assert (values["pool"], values["labels"], values["annotations"]) == (
        "p",
        {LABEL_SHAPE: "abc"},
        claim,
    )


def test_a_damaged_baseline_keeps_nothing() -> None:
    slot = {"metadata": {"name": "pool-p-s1-0", "labels": {LABEL_SHAPE: "s1"}}}
    cluster = {"metadata": {"name": "c", "annotations": {ANNOTATION_BASELINE: "{oops"}}}
    assert member_of(slot, cluster).baseline == {}
