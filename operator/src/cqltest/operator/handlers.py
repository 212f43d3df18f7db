"""The kopf handlers. Each one only says *when* a TestRun is reconciled (see the package doc)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from typing import Any

import kopf

from cqltest.errors import CqltestError
from cqltest.kube.objects import GROUP, K8SSANDRA, PLURAL, VERSION
from cqltest.kube.reconcile import IDLE_DELAY, Outcome
from cqltest.model.claims import LABEL_POOL
from cqltest.operator import runtime

log = logging.getLogger("cqltest.operator")
MAX_IDLE_DELAY = 30.0
MIN_DUE_DELAY = 0.1
RECONCILE_THREADS = 16
"""Reconciles block on the apiserver, not the CPU: more threads than cores keep runs moving."""
POOL_SWEEP = 30.0
"""Seconds between two passes retiring idle pooled clusters past their idleTtl."""
_sweeper: asyncio.Task[None] | None = None


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(RECONCILE_THREADS, thread_name_prefix="reconcile")
    )
    settings.peering.standalone = True
    # The operator posts its own Events (one per transition); kopf's would repeat them.
    settings.posting.enabled = False
    settings.watching.server_timeout = 60
    settings.watching.client_timeout = 90
    settings.watching.connect_timeout = 10
    settings.persistence.finalizer = f"{GROUP}/operator"
    settings.execution.max_workers = 32


async def _sweep_pools() -> None:
    """The pool's periodic pass. Not a kopf timer on K8ssandraClusters: kopf would put its
    finalizer on them, and a stopped operator would then block every Helm uninstall."""
    while True:
        try:
            retired = await asyncio.to_thread(runtime.current().sweep_pools)
        except Exception as exc:  # the next pass tries again; the operator must live on
            log.warning("sweeping the cluster pools: %s", exc)
        else:
            for release in retired:
                log.info("retired pooled cluster %s (idle past its idleTtl)", release)
        await asyncio.sleep(POOL_SWEEP)


@kopf.on.startup()
async def start_pool_sweeper(**_: Any) -> None:
    global _sweeper
    _sweeper = asyncio.get_running_loop().create_task(_sweep_pools())


@kopf.on.cleanup()
async def stop_pool_sweeper(**_: Any) -> None:
    if _sweeper is not None:
        _sweeper.cancel()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    info: kopf.ConnectionInfo | None = kopf.login_with_kubeconfig(**kwargs)
    return info or kopf.login_with_service_account(**kwargs)


@kopf.on.probe(id="testruns")
def active_runs(**_: Any) -> int:
    return len(runtime.current()._wakers)


def backoff(outcome: Outcome, idle: int) -> float:
    """The sleep after a reconcile: doubled per unchanged turn, but never past the moment the
    clock makes something due (a fault due 5 s into a suite must not wait out a 20 s backoff)."""
    delay: float = min(outcome.delay * 2.0**idle, MAX_IDLE_DELAY)
    if outcome.due_in is not None:
        delay = min(delay, max(outcome.due_in, MIN_DUE_DELAY))
    return delay


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10)
async def drive(name: str, namespace: str | None, stopped: kopf.DaemonStopped, **_: Any) -> None:
    """One loop per TestRun: reconcile, then sleep until woken or the asked-for delay passes.

    A run whose status did not change waits twice as long each time (up to MAX_IDLE_DELAY):
    what moves it (its Jobs, its K8ssandraCluster) wakes it through the event handlers below,
    so the polling is only a safety net, and hundreds of runs held waiting for a cluster cost
    the apiserver little.
    """
    rt = runtime.current()
    assert namespace is not None  # TestRuns are namespaced
    key = (namespace, name)
    wake = rt.waker(key)
    rt.metrics.active_runs.inc()
    last: object = None
    idle = 0
    try:
        while not stopped:
            wake.clear()
            delay = IDLE_DELAY
            try:
                outcome = await asyncio.to_thread(rt.reconcile, namespace, name)
            except Exception as exc:  # a failed reconcile is retried; the daemon must live on
                rt.metrics.reconcile_errors.labels(type(exc).__name__).inc()
                log.warning(
                    "reconciling %s/%s: %s", namespace, name, exc,
                    exc_info=not isinstance(exc, CqltestError),
                )  # fmt: skip
            else:
                rt.record(key, outcome)
                if outcome.finished:
                    return
                current = outcome.status.model_dump() if outcome.status else None
                idle = idle + 1 if current == last else 0
                last = current
                delay = backoff(outcome, idle)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
    finally:
        rt.metrics.active_runs.dec()


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def clean_up(name: str, namespace: str | None, **_: Any) -> None:
    """Stop Jobs, uninstall the release, drop the report, then kopf lets the object go."""
    rt = runtime.current()
    assert namespace is not None
    await asyncio.to_thread(rt.reconcile, namespace, name)
    rt.forget((namespace, name))


def _owner_run(body: kopf.Body) -> str | None:
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == "TestRun":
            return str(ref.get("name"))
    return None


@kopf.on.event("batch", "v1", "jobs", labels={f"{GROUP}/testrun": kopf.PRESENT})
def job_changed(body: kopf.Body, namespace: str | None, **_: Any) -> None:
    run = _owner_run(body)
    if run is not None and namespace is not None:
        runtime.current().wake((namespace, run))


@kopf.on.event(*K8SSANDRA, labels={f"{GROUP}/testrun": kopf.PRESENT})
def cluster_changed(body: kopf.Body, namespace: str | None, **_: Any) -> None:
    run = _owner_run(body)
    if run is not None and namespace is not None:
        runtime.current().wake((namespace, run))


@kopf.on.event(*K8SSANDRA, labels={LABEL_POOL: kopf.PRESENT})
def pooled_cluster_changed(namespace: str | None, **_: Any) -> None:
    """A pooled cluster was claimed, released or retired: its claimant and the runs waiting
    for the pool (all in its namespace) look again at once instead of at their next poll."""
    if namespace is not None:
        runtime.current().wake_namespace(namespace)
