"""What the handlers share for the operator's lifetime: the login, Helm, settings, wake-ups.

kopf handlers are module-level functions, so the objects they need are held here, created once
by :func:`configure` before kopf starts, instead of being rebuilt per event.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from cqltest.kube.client import Kube
from cqltest.kube.helm import Releases
from cqltest.kube.pool import expire_everywhere, slot_namespaces
from cqltest.kube.reconcile import Outcome, reconcile
from cqltest.kube.world import Settings
from cqltest.metrics import TestRunCollector

Key = tuple[str, str]
"""(namespace, name) of a TestRun."""


@dataclass
class Metrics:
    """The operator's own series, beside the status-derived ones of ``TestRunCollector``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    runs: TestRunCollector = field(default_factory=lambda: TestRunCollector(per_run=False))

    def __post_init__(self) -> None:
        self.registry.register(self.runs)
        self.reconcile_seconds = Histogram(
            "cqltest_reconcile_seconds",
            "Time one reconcile of a TestRun took.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "cqltest_reconcile_errors",
            "Reconciles that raised (retried after a delay).",
            ["kind"],
            registry=self.registry,
        )
        self.active_runs = Gauge(
            "cqltest_active_testruns", "TestRuns being worked on now.", registry=self.registry
        )


@dataclass
class Runtime:
    kube: Kube
    releases: Releases
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    namespaces: tuple[str, ...] = ()
    """The namespace patterns served (kopf's ``-n``); empty: every namespace."""
    _wakers: dict[Key, asyncio.Event] = field(default_factory=dict)

    def waker(self, key: Key) -> asyncio.Event:
        return self._wakers.setdefault(key, asyncio.Event())

    def wake(self, key: Key) -> None:
        event = self._wakers.get(key)
        if event is not None:
            event.set()

    def wake_namespace(self, namespace: str) -> None:
        """Wake every run of ``namespace``: a pooled cluster there changed hands."""
        for (ns, _), event in self._wakers.items():
            if ns == namespace:
                event.set()

    def sweep_pools(self) -> list[str]:
        """Retire the idle pooled clusters past their TTL in the namespaces served (blocking)."""
        served = [
            ns
            for ns in slot_namespaces(self.kube, None)
            if not self.namespaces or any(fnmatch.fnmatch(ns, p) for p in self.namespaces)
        ]
        now = datetime.now(UTC)
        return [
            f"{ns}/{release}"
            for served_ns in served
            for ns, _, release in expire_everywhere(self.kube, self.releases, now, served_ns)
        ]

    def forget(self, key: Key) -> None:
        self._wakers.pop(key, None)
        self.metrics.runs.forget("/".join(key))

    def record(self, key: Key, outcome: Outcome) -> None:
        if outcome.status is not None:
            self.metrics.runs.update("/".join(key), outcome.status)

    def reconcile(self, namespace: str, name: str) -> Outcome:
        """One reconcile (blocking; run it in a worker thread), timed for the histogram."""
        start = time.perf_counter()
        try:
            return reconcile(self.kube, self.releases, namespace, name, self.settings)
        finally:
            self.metrics.reconcile_seconds.observe(time.perf_counter() - start)


_RUNTIME: Runtime | None = None


def configure(runtime: Runtime) -> None:
    global _RUNTIME
    _RUNTIME = runtime


def current() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("cqltest.operator.runtime.configure() was not called before kopf ran")
    return _RUNTIME
