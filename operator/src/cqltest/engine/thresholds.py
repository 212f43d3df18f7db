"""Check a suite's thresholds against the metrics its result reports.

A threshold with nothing measured counts as breached: a limit nobody can show was met is not
met, and saying "no value recorded" points at the real problem (the suite measured nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from cqltest.model import Metrics, SuiteResult, ThresholdResult, Thresholds

_Getter = Callable[[Metrics], float | None]

# (camelCase metric name, snake_case field of Thresholds, how to read it, True when a minimum)
_CHECKS: tuple[tuple[str, str, _Getter, bool], ...] = (
    ("p50LatencyMs", "p50_latency_ms", lambda m: m.latency_ms.p50 if m.latency_ms else None, False),
    ("p95LatencyMs", "p95_latency_ms", lambda m: m.latency_ms.p95 if m.latency_ms else None, False),
    ("p99LatencyMs", "p99_latency_ms", lambda m: m.latency_ms.p99 if m.latency_ms else None, False),
    ("maxLatencyMs", "max_latency_ms", lambda m: m.latency_ms.max if m.latency_ms else None, False),
    ("errorRate", "error_rate", lambda m: m.error_rate, False),
    ("minOpsPerSecond", "min_ops_per_second", lambda m: m.ops_per_second, True),
    ("maxLostWrites", "max_lost_writes", lambda m: m.lost_writes, False),
    ("maxErrorWindowSeconds", "max_error_window_seconds", lambda m: m.error_window_seconds, False),
)


def evaluate(thresholds: Thresholds | None, result: SuiteResult | None) -> list[ThresholdResult]:
    """One ThresholdResult per threshold set, in a fixed order."""
    if thresholds is None:
        return []
    metrics = result.metrics if result is not None else Metrics()
    checked = []
    for metric, attr, read, is_minimum in _CHECKS:
        limit: float | None = getattr(thresholds, attr)
        if limit is None:
            continue
        value = read(metrics)
        ok = value is not None and (value >= limit if is_minimum else value <= limit)
        checked.append(ThresholdResult(metric=metric, limit=limit, value=value, ok=ok))
    return checked


def describe_breaches(checked: list[ThresholdResult]) -> str | None:
    """``threshold breached: p99LatencyMs 73.2 > 50`` for every breach, or None."""
    parts = []
    for t in checked:
        if t.ok:
            continue
        if t.value is None:
            parts.append(f"{t.metric}: no value recorded (limit {t.limit:g})")
        else:
            op = "<" if t.metric.startswith("min") else ">"
            parts.append(f"{t.metric} {t.value:g} {op} limit {t.limit:g}")
    return f"threshold breached: {'; '.join(parts)}" if parts else None
