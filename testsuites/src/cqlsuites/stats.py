"""Operation statistics a suite run reports: counts, errors by kind and a latency histogram.

The histogram is log-bucketed (about 1% relative precision) rather than a list of samples, so a
stress suite doing millions of operations reports p99 in constant memory. Everything here is
pure; the plugin feeds it from aiocql request listeners on the event-loop thread, so no locking.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)


@dataclass
class LatencyHistogram:
    """Latencies in milliseconds, bucketed by powers of 1.01 of a microsecond."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0
    max_ms: float = 0.0

    def record(self, ms: float) -> None:
        us = max(ms * 1000.0, 1.0)
        self.buckets[int(math.log(us) / _LOG_GROWTH)] += 1
        self.count += 1
        self.max_ms = max(self.max_ms, ms)

    def quantile(self, q: float) -> float:
        """The latency below which a fraction ``q`` of recorded operations fall (0 if empty)."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                # The bucket's upper bound, capped by the exact max, never under-reports.
                return min(_GROWTH ** (index + 1) / 1000.0, self.max_ms)
        return self.max_ms


@dataclass
class OpStats:
    """Counters for every request a suite made through the sessions the plugin watches."""

    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    operations: int = 0
    errors: int = 0
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    first_start: float | None = None
    last_end: float | None = None

    def record(self, *, end: float, latency_s: float, error_kind: str | None = None) -> None:
        """Count one finished request; ``end`` is a monotonic timestamp of its completion."""
        self.operations += 1
        self.latency.record(latency_s * 1000.0)
        start = end - latency_s
        self.first_start = start if self.first_start is None else min(self.first_start, start)
        self.last_end = end if self.last_end is None else max(self.last_end, end)
        if error_kind is not None:
            self.errors += 1
            self.errors_by_kind[error_kind] += 1

    def ops_per_second(self) -> float:
        """Throughput over the window in which requests were in flight, not the whole suite."""
        if self.first_start is None or self.last_end is None or self.operations == 0:
            return 0.0
        window = self.last_end - self.first_start
        return self.operations / window if window > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``metrics`` object of the SuiteResult contract."""
        return {
            "operations": self.operations,
            "opsPerSecond": round(self.ops_per_second(), 3),
            "errorRate": round(self.errors / self.operations, 6) if self.operations else 0.0,
            "latencyMs": {
                "p50": round(self.latency.quantile(0.50), 3),
                "p95": round(self.latency.quantile(0.95), 3),
                "p99": round(self.latency.quantile(0.99), 3),
                "max": round(self.latency.max_ms, 3),
            },
            "errorsByKind": dict(sorted(self.errors_by_kind.items())),
        }
