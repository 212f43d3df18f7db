"""The pool's book: which warm clusters exist, of which shape, and who holds each.

Every pool is one JSON file under the cluster root (``<root>/.pools/<pool>.json``), changed only
while holding an exclusive ``flock`` on its lock file and replaced atomically, so concurrent runs
(threads or processes) never hand one cluster to two claimants. Slow work (starting, checking,
resetting, destroying clusters) happens outside the lock: an entry is marked ``provisioning`` or
``claimed`` first, so it counts against the pool's limits meanwhile.

A claimant is a process (pid and start time, :class:`cqltest.local.state.Owner`); when it is gone
its claim has expired: a claimed cluster becomes idle but dirty (reset before its next use), a
cluster it was provisioning is destroyed. Idle clusters past their ``idle_ttl`` are destroyed.
Both happen on every operation on the pool (claim, release, ``cqltest pool list|prune``): there
is no daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from cqltest.errors import ClusterError
from cqltest.local import state

EntryState = Literal["provisioning", "claimed", "idle"]
_WAIT_POLL = 0.5
_WAIT_REPORT = 15.0


@dataclass(frozen=True)
class Limits:
    max_clusters: int = 4
    max_per_shape: int = 1
    idle_ttl: float = 1800.0
    claim_timeout: float = 600.0


@dataclass
class Claimant:
    pid: int
    started: int
    run: str

    @classmethod
    def current(cls, run: str) -> Claimant:
        owner = state.Owner.current()
        return cls(owner.pid, owner.started, run)

    def alive(self) -> bool:
        return state.Owner(self.pid, self.started).alive()


@dataclass
class Entry:
    """One cluster of the pool."""

    name: str
    shape: str
    shape_text: str
    state: EntryState
    claimant: Claimant | None = None
    idle_since: float | None = None
    idle_ttl: float = 1800.0
    #: Claimed since its last reset (a claimant died holding it): reset before it is handed out.
    dirty: bool = False
    #: Keyspaces and roles the cluster had when it was new; a reset drops every other one.
    baseline: dict[str, list[str]] = field(default_factory=dict)
    created: float = 0.0

    def idle(self, now: float, *, dirty: bool) -> None:
        """Nobody holds the cluster from ``now``; ``dirty``: not reset since its last claim."""
        self.state, self.claimant, self.dirty, self.idle_since = "idle", None, dirty, now

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        data = dict(data)
        claimant = data.pop("claimant", None)
        return cls(**data, claimant=Claimant(**claimant) if claimant else None)


@dataclass(frozen=True)
class Ticket:
    """A claim: the cluster ``name`` is this claimant's until released or forgotten."""

    name: str
    warm: bool
    dirty: bool
    baseline: dict[str, list[str]]


class Pool:
    """One named pool of clusters under a cluster root."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.directory = root / ".pools"
        self.path = self.directory / f"{name}.json"

    @classmethod
    def all(cls, root: Path) -> list[Pool]:
        directory = root / ".pools"
        if not directory.is_dir():
            return []
        return [cls(path.stem, root) for path in sorted(directory.glob("*.json"))]

    @contextlib.contextmanager
    def _book(self) -> Iterator[list[Entry]]:
        """The entries, locked; changes made to the list are saved when the block ends."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / f"{self.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                entries = self._load()
                yield entries
                state.write_json(self.path, {"clusters": [e.to_dict() for e in entries]})
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> list[Entry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [Entry.from_dict(item) for item in data.get("clusters", [])]

    def entries(self) -> list[Entry]:
        """A snapshot of the pool after expiring dead claims (destroys what has expired)."""
        with self._book() as entries:
            doomed = _expire(entries, time.time())
            snapshot = list(entries)
        self._destroy(doomed)
        return snapshot

    # -- claiming ----------------------------------------------------------------------------

    def claim(
        self,
        shape: str,
        shape_text: str,
        limits: Limits,
        claimant: Claimant,
        on_wait: Callable[[str], None],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Ticket:
        """An idle cluster of ``shape`` (marked claimed), or room to provision one (an entry in
        state ``provisioning``); waits up to ``limits.claim_timeout`` for either."""
        deadline = time.monotonic() + limits.claim_timeout
        next_report = 0.0
        while True:
            with self._book() as entries:
                doomed = _expire(entries, time.time())
                ticket, evicted, why = _take(entries, shape, shape_text, limits, claimant)
            self._destroy(doomed + evicted)
            if ticket is not None:
                return ticket
            now = time.monotonic()
            if now >= deadline:
                raise ClusterError(
                    f"pool {self.name!r}: no cluster of shape {shape_text} became free within "
                    f"{limits.claim_timeout:.0f}s (poolPolicy.claimTimeout): {why}"
                )
            if cancelled():
                raise ClusterError(f"pool {self.name!r}: the claim was cancelled")
            if now >= next_report:
                on_wait(f"pool {self.name!r}: {why}; waiting up to {deadline - now:.0f}s")
                next_report = now + _WAIT_REPORT
            time.sleep(_WAIT_POLL)

    def provisioned(self, ticket: Ticket, baseline: dict[str, list[str]]) -> Ticket:
        """The cluster of a ``provisioning`` ticket is up: record what a reset keeps."""
        with self._book() as entries:
            entry = _find(entries, ticket.name)
            entry.state, entry.baseline, entry.dirty = "claimed", baseline, False
        return Ticket(ticket.name, ticket.warm, False, baseline)

    def reprovision(self, ticket: Ticket) -> Ticket:
        """The claimed cluster failed its health check and was destroyed: provision a new one
        in its place (same slot, so the limits still hold)."""
        with self._book() as entries:
            entry = _find(entries, ticket.name)
            entries.remove(entry)
            fresh = _new_entry(entry.shape, entry.shape_text, entry.claimant)
            entries.append(fresh)
        return Ticket(fresh.name, False, False, {})

    def release(self, ticket: Ticket, idle_ttl: float) -> None:
        """The claimant is done and the cluster is reset: it is idle from now."""
        with self._book() as entries:
            entry = _find(entries, ticket.name)
            entry.idle(time.time(), dirty=False)
            entry.idle_ttl = idle_ttl
            doomed = _expire(entries, time.time())
        self._destroy(doomed)

    def abandon(self, ticket: Ticket) -> None:
        """Give the cluster up unchecked: idle, and reset (or replaced) before its next use."""
        with self._book() as entries:
            entry = _find(entries, ticket.name)
            entry.idle(time.time(), dirty=True)

    def forget(self, ticket: Ticket) -> None:
        """Drop the entry (its cluster is destroyed, or never came up)."""
        with self._book() as entries:
            entries[:] = [e for e in entries if e.name != ticket.name]

    def prune(self, everything: bool = False) -> list[str]:
        """Destroy expired clusters, and with ``everything`` every idle one; their names."""
        with self._book() as entries:
            doomed = _expire(entries, time.time())
            if everything:
                doomed += [e for e in entries if e.state == "idle"]
                entries[:] = [e for e in entries if e.state != "idle"]
        self._destroy(doomed)
        return [e.name for e in doomed]

    def _destroy(self, doomed: list[Entry]) -> None:
        for entry in doomed:
            self.destroy(entry.name)

    def destroy(self, name: str) -> None:
        """Kill and delete the cluster ``name`` if it is still there (its entry is the
        caller's business)."""
        from cqltest.local.cluster import LocalCluster

        if LocalCluster.exists(name, self.root):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                LocalCluster.load(name, self.root).destroy()


def _find(entries: list[Entry], name: str) -> Entry:
    for entry in entries:
        if entry.name == name:
            return entry
    raise ClusterError(f"cluster {name!r} is no longer in its pool (pruned meanwhile?)")


def _new_entry(shape: str, shape_text: str, claimant: Claimant | None) -> Entry:
    return Entry(
        name=f"pool-{shape[:8]}-{uuid.uuid4().hex[:6]}",
        shape=shape,
        shape_text=shape_text,
        state="provisioning",
        claimant=claimant,
        created=time.time(),
    )


def _expire(entries: list[Entry], now: float) -> list[Entry]:
    """Apply dead claimants and idle TTLs to ``entries``; return the entries to destroy."""
    doomed = []
    for entry in list(entries):
        if entry.claimant is not None and not entry.claimant.alive():
            if entry.state == "provisioning":
                doomed.append(entry)
                entries.remove(entry)
                continue
            entry.idle(now, dirty=True)
        if entry.state == "idle" and now - (entry.idle_since or now) >= entry.idle_ttl:
            doomed.append(entry)
            entries.remove(entry)
    return doomed


def _take(
    entries: list[Entry], shape: str, shape_text: str, limits: Limits, claimant: Claimant
) -> tuple[Ticket | None, list[Entry], str]:
    """Under the lock: claim an idle cluster or make room for a new one; else say why not."""
    same = [e for e in entries if e.shape == shape]
    idle = sorted((e for e in same if e.state == "idle"), key=lambda e: e.dirty)
    if idle:
        entry = idle[0]
        entry.state, entry.claimant, entry.idle_since = "claimed", claimant, None
        ticket = Ticket(entry.name, True, entry.dirty, entry.baseline)
        return ticket, [], ""
    if len(same) >= limits.max_per_shape:
        holders = ", ".join(
            f"{e.name} ({e.state} by run {e.claimant.run}, pid {e.claimant.pid})"
            for e in same
            if e.claimant is not None
        )
        return (
            None,
            [],
            (
                f"{len(same)}/{limits.max_per_shape} clusters of this shape are busy: "
                f"{holders} (poolPolicy.maxPerShape)"
            ),
        )
    evicted: list[Entry] = []
    if len(entries) >= limits.max_clusters:
        others = sorted(
            (e for e in entries if e.state == "idle"), key=lambda e: e.idle_since or 0.0
        )
        if not others:
            return (
                None,
                [],
                (
                    f"the pool holds {len(entries)}/{limits.max_clusters} clusters, "
                    "all busy (poolPolicy.maxClusters)"
                ),
            )
        evicted = [others[0]]
        entries.remove(others[0])
    entry = _new_entry(shape, shape_text, claimant)
    entries.append(entry)
    return Ticket(entry.name, False, False, {}), evicted, ""
