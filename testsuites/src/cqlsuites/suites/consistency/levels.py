"""Replica arithmetic: how many replicas each consistency level needs from a replication."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cassandra import ConsistencyLevel, Unavailable
from cassandra.cluster import NoHostAvailable

LEVELS = ["ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM"]


@dataclass(frozen=True)
class Replicas:
    """Replication factor per datacenter, and which one is local to the client."""

    per_dc: Mapping[str, int]
    local_dc: str

    def required(self, level: str) -> int:
        """Replicas that must answer at ``level`` (EACH_QUORUM: summed over datacenters)."""
        total = sum(self.per_dc.values())
        local = self.per_dc.get(self.local_dc, 0)
        return {
            "ONE": 1,
            "TWO": 2,
            "THREE": 3,
            "QUORUM": total // 2 + 1,
            "ALL": total,
            "LOCAL_ONE": 1,
            "LOCAL_QUORUM": local // 2 + 1,
            "EACH_QUORUM": sum(rf // 2 + 1 for rf in self.per_dc.values()),
        }[level]

    def alive(self, level: str) -> int:
        """Replicas a healthy cluster offers to ``level``: local ones only for LOCAL_*."""
        if level.startswith("LOCAL_"):
            return self.per_dc.get(self.local_dc, 0)
        return sum(self.per_dc.values())

    def meets(self, level: str) -> bool:
        return self.required(level) <= self.alive(level)


def unavailable_of(exc: BaseException) -> Unavailable | None:
    """The server's Unavailable, also when the retry policy tried another host and the driver
    reports NoHostAvailable with one Unavailable per host."""
    if isinstance(exc, Unavailable):
        return exc
    if isinstance(exc, NoHostAvailable) and exc.errors:
        errors = list(exc.errors.values())
        if all(isinstance(e, Unavailable) for e in errors):
            first: Unavailable = errors[0]
            return first
    return None


def level(name: str) -> int:
    value: int = ConsistencyLevel.name_to_value[name]
    return value
