"""Optional prometheus-client export of session stats.

A custom collector reads ``session.stats()`` at scrape time, so the request path pays nothing
for Prometheus, and registering is explicit and once per registry (a second collector with the
same namespace in one registry is refused by prometheus-client itself, loudly).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import AsyncSession

__all__ = ["SessionCollector", "register_session"]


class SessionCollector:
    """Exposes one or more sessions' stats, labelled ``session=<name>``."""

    def __init__(self, namespace: str = "aiocql") -> None:
        try:
            import prometheus_client  # noqa: F401
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise ImportError(
                "aiocql.prometheus needs prometheus-client: pip install prometheus-client"
            ) from exc
        self.namespace = namespace
        self._sessions: dict[str, AsyncSession] = {}

    def add(self, session: AsyncSession, name: str = "default") -> None:
        if name in self._sessions:
            raise ValueError(f"session name {name!r} is already exported by this collector")
        self._sessions[name] = session

    def describe(self) -> list[Any]:
        return []  # metrics are dynamic; prometheus-client then calls collect() lazily

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        ns = self.namespace
        requests = CounterMetricFamily(f"{ns}_requests", "Driver requests sent", labels=["session"])
        errors = CounterMetricFamily(
            f"{ns}_errors", "Requests that failed, by exception class", labels=["session", "kind"]
        )
        timeouts = CounterMetricFamily(
            f"{ns}_timeouts", "Requests failed by an aiocql deadline", labels=["session"]
        )
        cancellations = CounterMetricFamily(
            f"{ns}_cancellations", "Requests abandoned by cancellation", labels=["session"]
        )
        pages = CounterMetricFamily(f"{ns}_pages", "Result pages received", labels=["session"])
        rows = CounterMetricFamily(f"{ns}_rows", "Rows received", labels=["session"])
        in_flight = GaugeMetricFamily(
            f"{ns}_in_flight", "Requests outstanding now", labels=["session"]
        )
        high_water = GaugeMetricFamily(
            f"{ns}_in_flight_high_water", "Most requests ever outstanding", labels=["session"]
        )
        latency = HistogramMetricFamily(
            f"{ns}_request_latency_seconds", "Request latency", labels=["session"]
        )
        for name, session in self._sessions.items():
            st = session.stats()
            requests.add_metric([name], st.requests)
            for kind, count in sorted(st.errors_by_kind.items()):
                errors.add_metric([name, kind], count)
            timeouts.add_metric([name], st.timeouts)
            cancellations.add_metric([name], st.cancellations)
            pages.add_metric([name], st.pages)
            rows.add_metric([name], st.rows)
            in_flight.add_metric([name], st.in_flight)
            high_water.add_metric([name], st.in_flight_high_water)
            buckets = [(repr(bound), float(count)) for bound, count in st.latency.buckets()]
            buckets.append(("+Inf", float(st.latency.count)))
            latency.add_metric([name], buckets, sum_value=st.latency.sum)
        yield from (
            requests,
            errors,
            timeouts,
            cancellations,
            pages,
            rows,
            in_flight,
            high_water,
            latency,
        )


def register_session(
    session: AsyncSession, registry: Any = None, *, name: str = "default", namespace: str = "aiocql"
) -> SessionCollector:
    """Export ``session`` to ``registry`` (default: prometheus-client's global REGISTRY)."""
    from prometheus_client import REGISTRY

    collector = SessionCollector(namespace)
    collector.add(session, name)
    (registry if registry is not None else REGISTRY).register(collector)
    return collector
