"""The warm-cluster pool in operator mode: claims, releases and expiry against the apiserver.

Pooled clusters live in the namespace of the TestRuns that use them (one pool name may exist
in several namespaces; each is its own pool). The rules are in :mod:`cqltest.model.claims`;
this module reads the pool's slots and K8ssandraClusters, asks those rules, and writes with
preconditions: a slot is reserved by one atomic create, a claim or release is a merge patch
carrying the resourceVersion read, and a retirement marks the cluster (with the same
precondition) before Helm uninstalls it. Whoever loses a race gets a 409, re-reads and decides
again, so one cluster is never handed to two runs.

``maxPerShape`` holds under races too (a shape's slots are its indexes ``0..maxPerShape-1``, each
created once), but ``maxClusters`` is checked against the slots read: two runs of *different*
shapes reserving the pool's last place at the same moment can both get one, and the pool then
holds one cluster more than ``maxClusters`` until one is retired.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cqltest.engine.names import LABEL_TESTRUN, label_value
from cqltest.kube import objects
from cqltest.kube.client import Kube
from cqltest.kube.errors import Conflict, KubeError
from cqltest.kube.helm import Releases
from cqltest.model.claims import (
    ANNOTATION_BASELINE,
    ANNOTATION_CLAIMED_AT,
    ANNOTATION_CLAIMED_BY,
    ANNOTATION_DIRTY,
    ANNOTATION_INDEX,
    ANNOTATION_RETIRING,
    ANNOTATION_SHAPE_TEXT,
    ANNOTATION_UNHEALTHY,
    LABEL_POOL,
    LABEL_SHAPE,
    Claimant,
    Decision,
    Limits,
    Member,
    claim_patch,
    decide,
    member_of,
    release_patch,
    stale,
    timestamp,
)
from cqltest.model.pool import pooled_release

ATTEMPTS = 4
"""Decisions taken again after a lost race, before the claim waits for the next reconcile."""
INSTANCE = "app.kubernetes.io/instance"
"""The chart's label naming a K8ssandraCluster's release: how a slot finds its cluster."""
CO_CLUSTER = "cassandra.datastax.com/cluster"
"""cass-operator's label on a cluster's pods, which fault NetworkPolicies select by."""
FAULT_LABEL = "cqltest.dev/fault"


class PoolClient:
    """One pool (``pool``) in one namespace; ``releases`` is needed only to retire clusters."""

    def __init__(self, kube: Kube, releases: Releases | None, namespace: str, pool: str) -> None:
        self.kube, self.releases, self.namespace, self.pool = kube, releases, namespace, pool
        self.selector = f"{LABEL_POOL}={pool}"

    # ------------------------------------------------------------------ reading

    def members(self) -> list[Member]:
        slots = objects.list_labelled(self.kube, "ConfigMap", self.namespace, self.selector)
        clusters = objects.list_custom(self.kube, *objects.K8SSANDRA, self.namespace, self.selector)
        by_release = {(c["metadata"].get("labels") or {}).get(INSTANCE): c for c in clusters}
        return [member_of(slot, by_release.get(slot["metadata"]["name"])) for slot in slots]

    def alive(self, members: Sequence[Member]) -> set[str]:
        """The uids of the claimants whose TestRun is still there."""
        uids: set[str] = set()
        for claimant in {m.claimant for m in members if m.claimant is not None}:
            run = objects.get_testrun(self.kube, claimant.namespace, claimant.run)
            if run is not None and run["metadata"].get("uid") == claimant.uid:
                uids.add(claimant.uid)
        return uids

    # ------------------------------------------------------------------ claiming

    def claim(
        self, shape: str, shape_text: str, limits: Limits, me: Claimant, now: datetime
    ) -> Decision:
        """Take, reserve or wait: ``mine`` (a warm cluster or one being provisioned, see
        ``member.cluster``), ``provision`` (a new slot is reserved: install its release) or
        ``wait`` with the reason."""
        for _ in range(ATTEMPTS):
            members = self.members()
            alive = self.alive(members)
            expired = stale(members, alive, now)
            if expired:
                for old in expired:
                    self.retire(old)
                continue
            decision = decide(members, shape, limits, me, alive, now)
            if decision.kind in ("mine", "wait"):
                return decision
            member = decision.member
            if decision.kind == "take" and member is not None:
                try:
                    self._patch(member, claim_patch(member, me, now))
                except Conflict:
                    continue
                self.remove_fault_policies(member)
                return Decision("mine", self._reread(member.release) or member)
            if decision.kind == "evict" and member is not None:
                self.retire(member)
                continue
            if decision.kind == "provision" and decision.index is not None:
                slot = self._reserve(shape, shape_text, decision.index, me, now)
                if slot is not None:
                    return Decision("provision", member_of(slot, None))
        return Decision("wait", message="other runs claimed at the same moment; trying again")

    def _reserve(
        self, shape: str, text: str, index: int, me: Claimant, now: datetime
    ) -> dict[str, Any] | None:
        name = pooled_release(self.pool, shape, index)
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    LABEL_POOL: self.pool,
                    LABEL_SHAPE: shape,
                    "app.kubernetes.io/managed-by": "cqltest",
                },
                "annotations": {
                    ANNOTATION_INDEX: str(index),
                    ANNOTATION_SHAPE_TEXT: text,
                    ANNOTATION_CLAIMED_BY: me.text(),
                    ANNOTATION_CLAIMED_AT: timestamp(now),
                },
            },
            "data": {"release": name},
        }
        return objects.create_new(self.kube, manifest)

    def _reread(self, release: str) -> Member | None:
        return next((m for m in self.members() if m.release == release), None)

    def _patch(self, member: Member, patch: dict[str, Any]) -> None:
        assert member.cluster is not None
        done = objects.patch_custom(
            self.kube, *objects.K8SSANDRA, self.namespace, member.cluster, patch
        )
        if done is None:
            raise Conflict(f"K8ssandraCluster {self.namespace}/{member.cluster} is gone")

    def annotate(self, member: Member, annotations: Mapping[str, str | None]) -> None:
        """Annotations only the holder of ``member`` writes (no precondition needed)."""
        assert member.cluster is not None
        objects.patch_custom(
            self.kube,
            *objects.K8SSANDRA,
            self.namespace,
            member.cluster,
            {"metadata": {"annotations": dict(annotations)}},
        )

    def record_reset(self, member: Member, baseline: Mapping[str, Sequence[str]] | None) -> None:
        """After a probe or reset Job of ``member`` completed: clean, with its baseline."""
        notes: dict[str, str | None] = {ANNOTATION_DIRTY: None, ANNOTATION_UNHEALTHY: None}
        if member.baseline is None and baseline is not None:
            notes[ANNOTATION_BASELINE] = json.dumps(dict(baseline), sort_keys=True)
        self.annotate(member, notes)

    def remove_fault_policies(self, member: Member) -> None:
        """NetworkPolicies a run's faults left on this cluster (its run died before healing)."""
        policies = objects.list_labelled(self.kube, "NetworkPolicy", self.namespace, FAULT_LABEL)
        for policy in policies:
            selector = (policy.get("spec") or {}).get("podSelector") or {}
            if (selector.get("matchLabels") or {}).get(CO_CLUSTER) == member.cluster:
                objects.delete(
                    self.kube, "NetworkPolicy", self.namespace, policy["metadata"]["name"]
                )

    # ------------------------------------------------------------------ giving back

    def release(self, me: Claimant, now: datetime, idle_ttl: float) -> str | None:
        """Give back what ``me`` holds: idle and dirty from ``now``; the release's name.

        A cluster that never passed its first probe (no baseline recorded) is not known to be
        healthy, so it is retired instead of kept warm.
        """
        for _ in range(ATTEMPTS):
            mine = [
                m
                for m in self.members()
                if m.claimant is not None and m.claimant.uid == me.uid and not m.retiring
            ]
            if not mine:
                return None
            member = mine[0]
            if member.cluster is None:  # reserved, never installed: nothing warm to keep
                self.retire(member)
                return member.release
            if member.baseline is None:
                self.retire(member, force=True)
                return member.release
            try:
                self._patch(member, release_patch(member, now, idle_ttl))
            except Conflict:
                continue
            return member.release
        return None

    def replace(self, member: Member, problem: str) -> None:
        """A cluster that failed its health check or reset: recorded, then uninstalled."""
        self.annotate(member, {ANNOTATION_UNHEALTHY: problem[:500]})
        self.retire(member, force=True)

    def retire(self, member: Member, *, force: bool = False) -> bool:
        """Uninstall ``member`` unless someone claimed it since it was read (False then).

        ``force``: the holder retires its own cluster, whatever changed since.
        """
        if self.releases is None:
            raise KubeError(f"retiring pooled cluster {member.release} needs Helm")
        if member.cluster is not None:
            notes = {ANNOTATION_RETIRING: "true"}
            patch: dict[str, Any] = {"metadata": {"annotations": notes}}
            if not force:
                patch["metadata"]["resourceVersion"] = member.version
            try:
                self._patch(member, patch)
            except Conflict:
                return False
        elif not force and not objects.delete_unchanged(
            self.kube, "ConfigMap", self.namespace, member.release, member.slot_version
        ):
            return False
        self.releases.uninstall(member.release, self.namespace)
        selector = f"{LABEL_TESTRUN}={label_value(member.release)}"
        for secret in objects.list_labelled(self.kube, "Secret", self.namespace, selector):
            objects.delete(self.kube, "Secret", self.namespace, secret["metadata"]["name"])
        objects.delete(self.kube, "ConfigMap", self.namespace, member.release)
        return True

    def expire(self, now: datetime) -> list[str]:
        """Retire idle clusters past their TTL and reservations of dead runs; their releases."""
        members = self.members()
        return [m.release for m in stale(members, self.alive(members), now) if self.retire(m)]


def pools_in(kube: Kube, namespace: str) -> list[str]:
    """The names of the pools with a slot in ``namespace``."""
    slots = objects.list_labelled(kube, "ConfigMap", namespace, LABEL_POOL)
    return sorted({(s["metadata"].get("labels") or {})[LABEL_POOL] for s in slots})


def slot_namespaces(kube: Kube, namespace: str | None) -> dict[str, list[str]]:
    """The pools with a slot, by namespace: in ``namespace``, or in every namespace."""
    if namespace is not None:
        slots = objects.list_labelled(kube, "ConfigMap", namespace, LABEL_POOL)
    else:
        slots = objects.list_everywhere(kube, "ConfigMap", LABEL_POOL)
    found: dict[str, set[str]] = {}
    for slot in slots:
        meta = slot["metadata"]
        found.setdefault(meta["namespace"], set()).add((meta.get("labels") or {})[LABEL_POOL])
    return {ns: sorted(pools) for ns, pools in sorted(found.items())}


def expire_everywhere(
    kube: Kube,
    releases: Releases,
    now: datetime,
    namespace: str | None = None,
    pool: str | None = None,
) -> list[tuple[str, str, str]]:
    """Retire every stale pooled cluster (the operator's periodic pass, ``pool prune``):
    (namespace, pool, release) of each."""
    return [
        (ns, name, release)
        for ns, pools in slot_namespaces(kube, namespace).items()
        for name in pools
        if pool in (None, name)
        for release in PoolClient(kube, releases, ns, name).expire(now)
    ]


def pool_rows(kube: Kube, namespace: str | None, now: datetime) -> list[dict[str, Any]]:
    """What ``cqltest pool list --kube`` shows, one row per pooled cluster."""
    rows: list[dict[str, Any]] = []
    for ns, pools in slot_namespaces(kube, namespace).items():
        for pool in pools:
            client = PoolClient(kube, None, ns, pool)
            members = client.members()
            alive = client.alive(members)
            for m in members:
                state = "unhealthy" if m.unhealthy else m.state(alive, now)
                rows.append(
                    {
                        "namespace": ns,
                        "pool": pool,
                        "cluster": m.cluster or m.release,
                        "shape": m.shape,
                        "shapeText": m.shape_text,
                        "state": state,
                        "dirty": m.dirty,
                        "claimant": None if m.claimant is None else str(m.claimant),
                        "idleSince": None if m.idle_since is None else timestamp(m.idle_since),
                        "idleTtlSeconds": m.idle_ttl,
                    }
                )
    return rows
