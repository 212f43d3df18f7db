"""Claims on pooled clusters in operator mode: the rules, apart from the apiserver calls.

A pooled cluster is two objects in the TestRun's namespace: a *slot* (a ConfigMap named after
the cluster's Helm release, created with one atomic POST, so two runs can never provision the
same release) and, once installed, the release's K8ssandraCluster, whose annotations hold the
claim. :mod:`cqltest.kube.pool` reads both, asks :func:`decide` what this run should do, and
writes the outcome with a ``resourceVersion`` precondition; a 409 means another run moved first
and the decision is taken again on fresh objects. Everything here is pure, so the decisions are
tested without a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

LABEL_POOL = "cqltest.dev/pool"
LABEL_SHAPE = "cqltest.dev/shape"
ANNOTATION_CLAIMED_BY = "cqltest.dev/claimed-by"
ANNOTATION_CLAIMED_AT = "cqltest.dev/claimed-at"
ANNOTATION_IDLE_SINCE = "cqltest.dev/idle-since"
ANNOTATION_IDLE_TTL = "cqltest.dev/idle-ttl"
ANNOTATION_DIRTY = "cqltest.dev/dirty"
ANNOTATION_BASELINE = "cqltest.dev/baseline"
ANNOTATION_RETIRING = "cqltest.dev/retiring"
"""Set (with a precondition) before a cluster is uninstalled: nobody claims it any more."""
ANNOTATION_UNHEALTHY = "cqltest.dev/unhealthy"
ANNOTATION_SHAPE_TEXT = "cqltest.dev/shape-text"
ANNOTATION_INDEX = "cqltest.dev/index"

State = Literal["claimed", "expired", "idle", "stale", "provisioning", "retiring"]


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@dataclass(frozen=True)
class Claimant:
    """A TestRun holding (or reserving) a pooled cluster, by uid: a run recreated under the
    same name is another claimant."""

    namespace: str
    run: str
    uid: str

    def text(self) -> str:
        return f"{self.namespace}/{self.run}/{self.uid}"

    @classmethod
    def parse(cls, text: str | None) -> Claimant | None:
        parts = (text or "").split("/")
        return cls(*parts) if len(parts) == 3 and all(parts) else None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.run}"


@dataclass(frozen=True)
class Member:
    """One pooled cluster as its slot and K8ssandraCluster describe it."""

    release: str
    shape: str
    shape_text: str
    index: int
    slot_version: str
    cluster: str | None = None
    """The K8ssandraCluster's name; None while the release is not installed yet."""
    version: str | None = None
    """The K8ssandraCluster's resourceVersion: the precondition of every claim write."""
    claimant: Claimant | None = None
    claimed_at: datetime | None = None
    idle_since: datetime | None = None
    idle_ttl: float | None = None
    dirty: bool = False
    retiring: bool = False
    unhealthy: str | None = None
    baseline: Mapping[str, Sequence[str]] | None = None

    def state(self, alive: Collection[str], now: datetime) -> State:
        """``stale``: idle past its TTL, or a reservation whose run is gone before installing."""
        if self.retiring:
            return "retiring"
        if self.claimant is not None:
            if self.claimant.uid in alive:
                return "claimed" if self.cluster is not None else "provisioning"
            return "expired" if self.cluster is not None else "stale"
        if self.cluster is None or self.idle_since is None:
            return "provisioning"
        ttl = self.idle_ttl if self.idle_ttl is not None else 0.0
        return "stale" if (now - self.idle_since).total_seconds() >= ttl else "idle"


def _annotations(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def member_of(slot: Mapping[str, Any], cluster: Mapping[str, Any] | None) -> Member:
    """The member a slot ConfigMap and its (possibly absent) K8ssandraCluster make."""
    meta = slot["metadata"]
    labels, slot_notes = meta.get("labels") or {}, _annotations(slot)
    notes = _annotations(cluster)
    baseline = notes.get(ANNOTATION_BASELINE)
    ttl = notes.get(ANNOTATION_IDLE_TTL)
    claimant = (
        notes.get(ANNOTATION_CLAIMED_BY) if cluster else slot_notes.get(ANNOTATION_CLAIMED_BY)
    )
    return Member(
        release=meta["name"],
        shape=labels.get(LABEL_SHAPE, ""),
        shape_text=slot_notes.get(ANNOTATION_SHAPE_TEXT, ""),
        index=int(slot_notes.get(ANNOTATION_INDEX, "0")),
        slot_version=str(meta.get("resourceVersion", "")),
        cluster=cluster["metadata"]["name"] if cluster else None,
        version=str(cluster["metadata"].get("resourceVersion")) if cluster else None,
        claimant=Claimant.parse(claimant),
        claimed_at=parse_time(notes.get(ANNOTATION_CLAIMED_AT)),
        idle_since=parse_time(notes.get(ANNOTATION_IDLE_SINCE)),
        idle_ttl=float(ttl) if ttl else None,
        dirty=notes.get(ANNOTATION_DIRTY) == "true",
        retiring=ANNOTATION_RETIRING in notes or ANNOTATION_RETIRING in slot_notes,
        unhealthy=notes.get(ANNOTATION_UNHEALTHY),
        baseline=_baseline(baseline),
    )


def _baseline(text: str | None) -> Mapping[str, Sequence[str]] | None:
    """The recorded baseline; one that cannot be read keeps nothing (the system keyspaces and
    the reset's own login survive anyway), so a damaged annotation cannot leak a run's data."""
    if not text:
        return None
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {
        k: [str(v) for v in found.get(k) or [] if isinstance(v, str)]
        for k in ("keyspaces", "roles")
    }


@dataclass(frozen=True)
class Limits:
    max_clusters: int = 4
    max_per_shape: int = 1


@dataclass(frozen=True)
class Decision:
    """What a claiming run does now.

    ``mine``: it already holds ``member``; ``take``: claim the warm ``member``; ``provision``:
    reserve slot ``index``; ``evict``: retire the idle ``member`` of another shape to make room;
    ``wait``: nothing free, ``message`` says why.
    """

    kind: Literal["mine", "take", "provision", "evict", "wait"]
    member: Member | None = None
    index: int | None = None
    message: str | None = None


def decide(
    members: Sequence[Member],
    shape: str,
    limits: Limits,
    me: Claimant,
    alive: Collection[str],
    now: datetime,
) -> Decision:
    """This run's next move in a pool (``alive``: uids of the claimants' runs still there).

    Stale members are left to :func:`stale` (retired before deciding); warm ones go oldest
    idle first, so the pool's clusters are used evenly rather than one hot and the rest expiring.
    """
    for member in members:
        if member.claimant is not None and member.claimant.uid == me.uid and not member.retiring:
            return Decision("mine", member)
    states = {m.release: m.state(alive, now) for m in members}
    same = [m for m in members if m.shape == shape]
    warm = [m for m in same if states[m.release] in ("idle", "expired")]
    if warm:
        oldest = min(warm, key=lambda m: (m.idle_since or m.claimed_at or now, m.index))
        return Decision("take", oldest)
    used = {m.index for m in same}
    free = [i for i in range(limits.max_per_shape) if i not in used]
    counted = [m for m in members if states[m.release] != "retiring"]
    if free and len(counted) < limits.max_clusters:
        return Decision("provision", index=free[0])
    if free:
        idle = [m for m in members if m.shape != shape and states[m.release] == "idle"]
        if idle:
            return Decision("evict", min(idle, key=lambda m: (m.idle_since or now, m.release)))
        holders = _holders(counted)
        return Decision(
            "wait",
            message=f"{len(counted)}/{limits.max_clusters} clusters in the pool, none idle"
            f"{holders}",
        )
    held = [m for m in same if states[m.release] != "retiring"]
    return Decision(
        "wait",
        message=f"{len(held)}/{limits.max_per_shape} clusters of this shape claimed"
        f"{_holders(held)}",
    )


def _holders(members: Sequence[Member]) -> str:
    names = sorted({str(m.claimant) for m in members if m.claimant is not None})
    return f" by {', '.join(names)}" if names else ""


def stale(members: Sequence[Member], alive: Collection[str], now: datetime) -> list[Member]:
    """Members to retire: idle past their TTL, or reserved by a run that died before installing."""
    return [m for m in members if m.state(alive, now) == "stale"]


def claim_patch(member: Member, me: Claimant, now: datetime) -> dict[str, Any]:
    """The merge patch that claims ``member``; its resourceVersion makes it a precondition.

    A cluster taken from a dead claimant is dirty (its run may have left anything behind).
    """
    notes: dict[str, str | None] = {
        ANNOTATION_CLAIMED_BY: me.text(),
        ANNOTATION_CLAIMED_AT: timestamp(now),
        ANNOTATION_IDLE_SINCE: None,
        ANNOTATION_IDLE_TTL: None,
    }
    if member.claimant is not None:
        notes[ANNOTATION_DIRTY] = "true"
    return {"metadata": {"resourceVersion": member.version, "annotations": notes}}


def release_patch(member: Member, now: datetime, idle_ttl: float) -> dict[str, Any]:
    """The merge patch giving ``member`` back: idle from now, dirty until the next reset."""
    notes = {
        ANNOTATION_CLAIMED_BY: None,
        ANNOTATION_CLAIMED_AT: None,
        ANNOTATION_IDLE_SINCE: timestamp(now),
        ANNOTATION_IDLE_TTL: f"{idle_ttl:g}",
        ANNOTATION_DIRTY: "true",
    }
    return {"metadata": {"resourceVersion": member.version, "annotations": notes}}
