"""Session counters and a latency histogram, mutated only on the event-loop thread.

Counters are plain ints touched from one thread at a time, so the hot path pays no lock.
``SessionStats`` is an immutable snapshot for callers (tests, the result plugin, Prometheus).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LatencyHistogram", "LatencySnapshot", "SessionStats", "StatsRecorder"]

# Log-linear buckets: 4 per power of two of microseconds (≈19% relative width), 1 µs .. ~70 min.
_SUB_BITS = 2
_SUB = 1 << _SUB_BITS
_MAX_EXP = 32
_NBUCKETS = (_MAX_EXP + 1) * _SUB


def _bucket_index(micros: int) -> int:
    if micros < _SUB:
        return max(micros, 0)
    exp = micros.bit_length() - _SUB_BITS - 1
    if exp >= _MAX_EXP:
        return _NBUCKETS - 1
    return (exp + 1) * _SUB + ((micros >> exp) & (_SUB - 1))


def _bucket_upper_micros(index: int) -> int:
    if index < _SUB:
        return index + 1
    exp = index // _SUB - 1
    sub = index % _SUB
    return ((_SUB + sub + 1) << exp) if exp >= 0 else index + 1


BUCKET_UPPER_BOUNDS_SECONDS: tuple[float, ...] = tuple(
    _bucket_upper_micros(i) / 1e6 for i in range(_NBUCKETS)
)
"""Inclusive upper bound (seconds) of each histogram bucket, for exporters."""


class LatencyHistogram:
    """Fixed log-linear histogram; ``record`` is a few integer operations."""

    __slots__ = ("count", "counts", "max", "sum")

    def __init__(self) -> None:
        self.counts = [0] * _NBUCKETS
        self.count = 0
        self.sum = 0.0
        self.max = 0.0

    def record(self, seconds: float) -> None:
        self.counts[_bucket_index(int(seconds * 1e6))] += 1
        self.count += 1
        self.sum += seconds
        if seconds > self.max:
            self.max = seconds

    def record_many(self, latencies: list[float]) -> None:
        counts = self.counts
        top = self.max
        for seconds in latencies:
            micros = int(seconds * 1e6)
            if micros < _SUB:
                counts[max(micros, 0)] += 1
            else:
                exp = micros.bit_length() - _SUB_BITS - 1
                if exp >= _MAX_EXP:
                    counts[_NBUCKETS - 1] += 1
                else:
                    counts[(exp + 1) * _SUB + ((micros >> exp) & (_SUB - 1))] += 1
            if seconds > top:
                top = seconds
        self.max = top
        self.count += len(latencies)
        self.sum += sum(latencies)

    def snapshot(self) -> LatencySnapshot:
        return LatencySnapshot(tuple(self.counts), self.count, self.sum, self.max)


@dataclass(frozen=True, slots=True)
class LatencySnapshot:
    """An immutable copy of the histogram with percentile helpers (seconds)."""

    counts: tuple[int, ...]
    count: int
    sum: float
    max: float

    def percentile(self, q: float) -> float:
        """Upper bound of the bucket holding the q-th percentile (0 < q <= 100), capped at max."""
        if not 0 < q <= 100:
            raise ValueError(f"q={q!r}: percentile must be in (0, 100]")
        if self.count == 0:
            return 0.0
        rank = q / 100.0 * self.count
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if n and seen >= rank:
                return min(BUCKET_UPPER_BOUNDS_SECONDS[index], self.max)
        return self.max

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def buckets(self) -> list[tuple[float, int]]:
        """Cumulative ``(upper_bound_seconds, count)`` pairs for non-empty prefixes."""
        out: list[tuple[float, int]] = []
        total = 0
        last = max((i for i, n in enumerate(self.counts) if n), default=-1)
        for index in range(last + 1):
            total += self.counts[index]
            out.append((BUCKET_UPPER_BOUNDS_SECONDS[index], total))
        return out


@dataclass(frozen=True, slots=True)
class SessionStats:
    """A snapshot of one session's counters since it was created."""

    requests: int
    """Driver requests submitted (executes, batches, pages, prepares, host checks)."""
    completed: int
    """Requests that returned a result."""
    errors: int
    """Requests that ended with any exception (including timeouts, closes)."""
    errors_by_kind: dict[str, int]
    timeouts: int
    cancellations: int
    pages: int
    rows: int
    in_flight: int
    in_flight_high_water: int
    latency: LatencySnapshot = field(repr=False)


class StatsRecorder:
    """The live, loop-thread-only counters behind ``session.stats()``."""

    __slots__ = (
        "cancellations",
        "completed",
        "errors",
        "errors_by_kind",
        "high_water",
        "latency",
        "pages",
        "requests",
        "rows",
        "timeouts",
    )

    def __init__(self) -> None:
        self.requests = 0
        self.completed = 0
        self.errors = 0
        self.errors_by_kind: dict[str, int] = {}
        self.timeouts = 0
        self.cancellations = 0
        self.pages = 0
        self.rows = 0
        self.high_water = 0
        self.latency = LatencyHistogram()

    def record_error(self, kind: str) -> None:
        self.errors += 1
        self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + 1

    def snapshot(self, in_flight: int) -> SessionStats:
        return SessionStats(
            requests=self.requests,
            completed=self.completed,
            errors=self.errors,
            errors_by_kind=dict(self.errors_by_kind),
            timeouts=self.timeouts,
            cancellations=self.cancellations,
            pages=self.pages,
            rows=self.rows,
            in_flight=in_flight,
            in_flight_high_water=self.high_water,
            latency=self.latency.snapshot(),
        )
