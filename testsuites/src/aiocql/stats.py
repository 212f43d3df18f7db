"""Session counters and the latency histogram that aiocql and cqlsuites both report from.

Counters are plain ints touched from one thread at a time, so the hot path pays no lock.
``SessionStats`` is an immutable snapshot for callers (tests, the result plugin, Prometheus).

One histogram for the whole platform, so one run never reports two different p99s: the session
records into it, and cqlsuites' suite metrics (``cqlsuites.stats.OpStats``) are built on it too.
It is HdrHistogram's layout, written here rather than taken from the ``hdrhistogram`` package:
that package's ``record_value`` costs 4.4-4.9x ``record_many`` below (1.6-1.8 µs against
0.37 µs per value on this project's 2-core machine: ``benchmarks/histogram_cost.py``), and the
request path's whole wrapper budget is a few microseconds; both land within 0.4% at p50/p99.

**Relative error.** Values are whole microseconds; below 128 µs each microsecond is its own
bucket, above that every power of two is cut into 128 equal buckets. A percentile is reported
as the upper bound of its bucket, capped at the exact maximum, so it never under-reports and
over-reports by at most 1/128 of the value (0.78%) from 128 µs up, at most 1 µs below that.
Range: 0 to 2**32 µs (about 71 min); larger values land in the last bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BUCKET_UPPER_BOUNDS_SECONDS",
    "RELATIVE_ERROR",
    "LatencyHistogram",
    "LatencySnapshot",
    "SessionStats",
    "StatsRecorder",
]

_SUB_BITS = 7
_SUB = 1 << _SUB_BITS
_MAX_EXP = 25
_NBUCKETS = (_MAX_EXP + 1) * _SUB
# Prometheus gets every 32nd bucket (4 per power of two, ≈19% apart): a scrape stays a few
# dozen series per session, and these bounds are bucket edges, so the counts are exact.
_EXPORT_EVERY = 32

RELATIVE_ERROR = 1 / _SUB
"""Most a reported percentile exceeds the true value by, as a fraction of it (from 128 µs)."""


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
    return (_SUB + index % _SUB + 1) << exp


BUCKET_UPPER_BOUNDS_SECONDS: tuple[float, ...] = tuple(
    _bucket_upper_micros(i) / 1e6 for i in range(_NBUCKETS)
)
"""Exclusive upper bound (seconds) of each histogram bucket."""


class LatencyHistogram:
    """Fixed log-linear histogram of seconds; ``record`` is a few integer operations."""

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
        # _bucket_index inlined: this runs once per completed request on the loop thread
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
        """Upper bound of the bucket holding the q-th percentile (0 < q <= 100), capped at max.

        Within ``RELATIVE_ERROR`` above the true value, never below it; 0 when empty.
        """
        if not 0 < q <= 100:
            raise ValueError(f"q={q!r}: percentile must be in (0, 100]")
        if self.count == 0:
            return 0.0
        rank = q * self.count / 100.0  # exact for whole q: 0.07 * 100 would be 7.000…01
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
        """Cumulative ``(upper_bound_seconds, count)`` pairs, 4 per power of two, up to the
        last one holding a value: the exporter's coarser view of the same counts."""
        out: list[tuple[float, int]] = []
        total = 0
        last = max((i for i, n in enumerate(self.counts) if n), default=-1)
        for index in range(last + 1):
            total += self.counts[index]
            if (index + 1) % _EXPORT_EVERY == 0 or index == last:
                # the bound is always an exported edge, so scrapes keep one set of series
                edge = (index // _EXPORT_EVERY + 1) * _EXPORT_EVERY - 1
                out.append((BUCKET_UPPER_BOUNDS_SECONDS[edge], total))
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
