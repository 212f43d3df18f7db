"""One reconcile of one TestRun: observe, validate, the engine's step, publish, clean up.

The operator's handlers call :func:`reconcile` whenever anything about a run may have changed
(created, resumed, a child Job moved, a timer) and again after the delay it returns; it is safe
to call at any time and any number of times, because everything it does is decided afresh from
what the apiserver holds. It blocks (Kubernetes and Helm calls), so the handlers run it in a
worker thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cqlsuites.report import extract_report
from pydantic import ValidationError

from cqltest.engine import invalid_status
from cqltest.engine.names import LABEL_TESTRUN, label_value, report_name
from cqltest.engine.step import step
from cqltest.errors import ManifestError
from cqltest.kube import objects
from cqltest.kube.client import Kube
from cqltest.kube.errors import KubeError
from cqltest.kube.faults import remove_policies
from cqltest.kube.helm import Releases
from cqltest.kube.pooled import release_claim
from cqltest.kube.world import RunWorld, Settings
from cqltest.model import TERMINAL_RUN_PHASES, TestRunSpec, TestRunStatus
from cqltest.model.loading import parse_testrun
from cqltest.model.validation import operator_problems
from cqltest.render.cluster import release_name
from cqltest.render.report import render_report, report_key

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
BUSY_DELAY = 0.5
IDLE_DELAY = 5.0
FAULT_DELAY = 1.0
"""While a fault is in: heals, rolling-restart steps and recovery are seen within a second."""
FAULT_EVENTS: dict[str, str] = {
    "Injected": "FaultInjected",
    "Healed": "FaultHealed",
    "Recovered": "FaultRecovered",
}
PROVISIONING_DELAY = 2.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """What one reconcile did, and when the next one is due."""

    status: TestRunStatus | None
    finished: bool
    """The run is over and cleaned up: nothing more will happen without a new event."""
    delay: float = IDLE_DELAY
    due_in: float | None = None
    """Seconds until the clock alone makes something due (a fault's injection or heal, a
    suite's timeout): the caller may back off an idle run's delay, but never past this."""


def _spec(obj: Mapping[str, Any]) -> TestRunSpec:
    """The TestRun's spec, checked as ``cqltest validate`` checks it, plus operator-only rules."""
    meta = obj["metadata"]
    document = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
        "spec": obj.get("spec"),
    }
    run = parse_testrun(document)
    problems = operator_problems(run.spec)
    if problems:
        raise ManifestError(problems)
    return run.spec


def _previous(obj: Mapping[str, Any]) -> TestRunStatus | None:
    status = obj.get("status") or {}
    if not status.get("phase"):
        return None
    try:
        return TestRunStatus.model_validate({k: v for k, v in status.items() if k != "kopf"})
    except ValidationError as exc:
        # the run goes on from what the world shows (its Jobs, its release), but what only the
        # status remembered (cluster readiness, fault timelines) is lost: say so loudly
        meta = obj["metadata"]
        log.warning(
            "%s/%s: status unreadable, rebuilt: %s", meta.get("namespace"), meta["name"], exc
        )
        return None


def _dump(status: TestRunStatus) -> dict[str, Any]:
    data: dict[str, Any] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("kopf", None)
    return data


class Publisher:
    """Patches ``/status`` only when it changed, and posts an Event per transition."""

    def __init__(self, kube: Kube, obj: Mapping[str, Any]) -> None:
        self.kube, self.obj = kube, obj
        self.meta = obj["metadata"]

    def publish(self, previous: TestRunStatus | None, status: TestRunStatus) -> None:
        old = _dump(previous) if previous is not None else None
        new = _dump(status)
        if old == new:
            return
        objects.patch_testrun_status(self.kube, self.meta["namespace"], self.meta["name"], new)
        for reason, message, warning in transitions(previous, status):
            objects.post_event(self.kube, dict(self.obj), reason, message, warning=warning)


def transitions(
    previous: TestRunStatus | None, status: TestRunStatus
) -> list[tuple[str, str, bool]]:
    """Events for what changed: the run's phase, and each suite's phase (reason, message, warn)."""
    events: list[tuple[str, str, bool]] = []
    before = {s.name: s.phase for s in (previous.suites if previous else [])}
    for suite in status.suites:
        if suite.phase != before.get(suite.name, "Pending"):
            detail = f" ({suite.reason})" if suite.reason else ""
            warn = suite.phase in ("Failed", "TimedOut", "Error")
            attempt = f" attempt {suite.attempts}" if suite.attempts else ""
            message = f"suite {suite.name}{attempt}: {suite.phase}{detail}"
            events.append((f"Suite{suite.phase}", message, warn))
    events += fault_transitions(previous, status)
    if previous is None or previous.phase != status.phase:
        warn = status.phase in ("Failed", "Error", "Invalid")
        events.append((status.phase, status.message or status.phase, warn))
    return events


def fault_transitions(
    previous: TestRunStatus | None, status: TestRunStatus
) -> list[tuple[str, str, bool]]:
    """An Event per step each fault took since ``previous``, one per step even when several
    passed between two reconciles (a rolling restart is healed and recovered at once)."""
    steps = list(FAULT_EVENTS)
    before = {f.name: f.phase for f in (previous.faults if previous else [])}
    events: list[tuple[str, str, bool]] = []
    for fault in status.faults:
        old = before.get(fault.name, "Pending")
        if fault.phase == old:
            continue
        targets = f" on {', '.join(fault.targets)}" if fault.targets else ""
        if fault.phase == "Failed":
            why = fault.error or fault.reason or "no reason given"
            message = f"fault {fault.name} ({fault.action}){targets}: Failed: {why}"
            events.append(("FaultFailed", message, True))
            continue
        if fault.phase not in FAULT_EVENTS:
            continue
        start = steps.index(old) + 1 if old in FAULT_EVENTS else 0
        for phase in steps[start : steps.index(fault.phase) + 1]:
            message = f"fault {fault.name} ({fault.action}){targets}: {phase}"
            events.append((FAULT_EVENTS[phase], message, False))
    return events


def reconcile(
    kube: Kube,
    releases: Releases,
    namespace: str,
    name: str,
    settings: Settings,
    clock: Clock = utcnow,
) -> Outcome:
    """Bring run ``namespace/name`` one step forward; see the module docstring."""
    obj = objects.get_testrun(kube, namespace, name)
    if obj is None:
        return Outcome(None, finished=True)
    meta = obj["metadata"]
    generation = meta.get("generation")
    previous = _previous(obj)
    publisher = Publisher(kube, obj)
    try:
        spec = _spec(obj)
    except ManifestError as error:
        status = invalid_status(error, clock(), generation=generation, previous=previous)
        publisher.publish(previous, status)
        return Outcome(status, finished=True)
    if meta.get("deletionTimestamp"):
        cleanup(kube, releases, obj, spec)
        return Outcome(previous, finished=True)
    if previous is not None and previous.phase in TERMINAL_RUN_PHASES:
        # Finished before a restart: only the deletion of cancelled Jobs may be left to do.
        RunWorld(kube, releases, obj, spec, previous, settings, clock).after_publish()
        return Outcome(previous, finished=True)
    world = RunWorld(kube, releases, obj, spec, previous, settings, clock)
    world.advance_cluster(world.observe())
    world.faults.advance(world.observe())
    turn = step(spec, world, clock, previous=previous, generation=generation)
    assert turn.status is not None
    publisher.publish(previous, turn.status)
    world.after_publish()
    store_reports(kube, world, turn.status)
    if turn.finish is not None:
        return Outcome(turn.status, finished=True)
    delay = BUSY_DELAY if turn.busy else IDLE_DELAY
    if any(f.phase in ("Injected", "Healed") for f in turn.status.faults):
        delay = min(delay, FAULT_DELAY)
    if turn.status.phase in ("Pending", "Provisioning"):
        delay = PROVISIONING_DELAY
    due_in = (turn.due - clock()).total_seconds() if turn.due is not None else None
    return Outcome(turn.status, finished=False, delay=delay, due_in=due_in)


def cleanup(kube: Kube, releases: Releases, obj: Mapping[str, Any], spec: TestRunSpec) -> None:
    """A deleted TestRun: stop its Jobs, uninstall its cluster, drop its report, let it go.

    A pooled cluster is given back to its pool instead (idle, dirty: the next claim resets it).

    An existing cluster is never touched; everything else the run made is owned by it and
    would be collected anyway, but the release must go first, through Helm, so nothing of it
    (the K8ssandraCluster's Cassandra nodes) outlives the run waiting for the collector. A
    Partition's NetworkPolicies go at once too, existing cluster or not, so no cut outlasts it.
    """
    meta = obj["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    selector = f"{LABEL_TESTRUN}={label_value(name)}"
    for job in objects.list_labelled(kube, "Job", namespace, selector):
        objects.delete(kube, "Job", namespace, job["metadata"]["name"])
    if spec.cluster.reuse:
        release_claim(kube, releases, obj, spec, utcnow())
    elif spec.cluster.existing is None:
        releases.uninstall(release_name(name), namespace)
    remove_policies(kube, namespace, name)
    objects.delete(kube, "ConfigMap", namespace, report_name(name))


def store_reports(kube: Kube, world: RunWorld, status: TestRunStatus) -> None:
    """Copy each finished attempt's full report from its pod log into ``<run>-report``."""
    owner = world.owner
    finished = [
        (suite.name, record.attempt)
        for suite in status.suites
        for record in suite.history
        if record.state != "Running"
    ]
    if not finished:
        return
    current = objects.get(kube, "ConfigMap", owner.namespace, report_name(owner.name))
    data: dict[str, str] = (current or {}).get("data") or {}
    missing = [(s, a) for s, a in finished if report_key(s, a) not in data]
    if not missing and current is not None:
        return
    reports: list[dict[str, Any]] = []
    for key, text in data.items():
        if key.endswith(".json"):
            try:
                reports.append(json.loads(text))
            except json.JSONDecodeError:
                continue
    selector = f"{LABEL_TESTRUN}={label_value(owner.name)}"
    pods = objects.list_labelled(kube, "Pod", owner.namespace, selector)
    for suite, attempt in missing:
        for pod in pods:
            labels = pod["metadata"].get("labels") or {}
            if labels.get("cqltest.dev/suite") == suite and labels.get(
                "cqltest.dev/attempt"
            ) == str(attempt):
                try:
                    log = objects.pod_log(kube, owner.namespace, pod["metadata"]["name"])
                except KubeError:
                    continue
                report = extract_report(log)
                if report is not None:
                    reports.append(report)
    objects.replace_data(kube, render_report(owner, reports, status=status))
