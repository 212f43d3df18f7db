"""Operator mode's hands for ``spec.faults``: delete node Pods, cut with NetworkPolicies, probe.

The engine decides when to inject and heal (:mod:`cqltest.engine.faults`), :mod:`cqltest.render
.faults` decides what to create or delete; this module makes the calls and records each step as
a :class:`~cqltest.engine.FaultObserved` the status then keeps. Nothing survives a reconcile here:
a rolling restart's progress is read back from the Pods, recovery from the fault's probe Jobs,
so an operator restarted mid-fault carries on from the TestRun's status and the cluster.

On Kubernetes a deleted node Pod is recreated at once by its StatefulSet, so ``downFor`` cannot
keep a node down: NodeKill (forced delete) and NodeStop (graceful delete) restart the nodes at
the injection, the heal is recorded ``downFor`` later and recovery is checked from then on. A
Partition lasts ``duration`` and needs a CNI that enforces NetworkPolicy. NodePause has no
Kubernetes equivalent and is refused at admission (``kube.reconcile``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cqltest.engine import FaultObserved, Observed
from cqltest.engine.names import LABEL_COMPONENT, LABEL_TESTRUN, label_value
from cqltest.kube import objects
from cqltest.kube.client import Kube
from cqltest.kube.errors import KubeError
from cqltest.model import FaultSpec, TestRunSpec
from cqltest.render import faults as plan
from cqltest.render.environment import Connection
from cqltest.render.pods import Owner, Secrets

Clock = Callable[[], datetime]
ProbeSetup = Callable[[], tuple[Connection, Secrets, str]]
"""The connection, secrets and image a recovery probe Job uses (asked only when one is made)."""
PROBE_SPACING = timedelta(seconds=5)
"""Between the start of one recovery probe and the next, when one failed."""
NO_CLUSTER = (
    "operator mode carries faults out on a K8ssandraCluster's pods: provision the cluster, or "
    "attach one with spec.cluster.existing.k8ssandraCluster"
)


class KubeFaults:
    """The faults of one TestRun, for one reconcile: what was done, recorded for the status."""

    def __init__(
        self,
        kube: Kube,
        owner: Owner,
        spec: TestRunSpec,
        cluster: Callable[[], str | None],
        probe: ProbeSetup,
        clock: Clock,
    ) -> None:
        self.kube, self.owner, self.spec, self.clock = kube, owner, spec, clock
        self._cluster, self._probe = cluster, probe
        self.records: dict[str, FaultObserved] = {}
        """This reconcile's news, by fault name; the world lays it over the status."""

    def _fault(self, name: str) -> FaultSpec:
        return next(f for f in self.spec.faults if f.name == name)

    def _record(self, name: str, seen: FaultObserved | None = None, **fields: Any) -> None:
        base = self.records.get(name) or seen or FaultObserved()
        self.records[name] = replace(base, **fields)

    def _pods(self, cluster: str) -> dict[str, dict[str, Any]]:
        selector = f"{plan.CO_CLUSTER}={cluster}"
        pods = objects.list_labelled(self.kube, "Pod", self.owner.namespace, selector)
        return {p["metadata"]["name"]: p for p in pods}

    # ------------------------------------------------------------------ the engine's actions

    def inject(self, name: str) -> None:
        """Carry fault ``name`` out; any failure becomes the fault's error (the run fails)."""
        fault = self._fault(name)
        try:
            self._inject(fault)
        except (plan.FaultError, KubeError) as exc:
            self._record(name, error=f"cannot inject {fault.action}: {exc}")

    def _inject(self, fault: FaultSpec) -> None:
        cluster = self._cluster()
        if cluster is None:
            raise plan.FaultError(NO_CLUSTER)
        sides = plan.fault_pods(self.spec, fault, cluster)
        targets = [pod for side in sides for pod in side]
        pods = self._pods(cluster)
        missing = [t for t in targets if t not in pods]
        if missing:
            have = ", ".join(sorted(pods)) or "none"
            raise plan.FaultError(f"no pod {missing[0]} in {self.owner.namespace} (pods: {have})")
        at = plan.injection_time(self.clock())
        if fault.action == "Partition":
            for policy in plan.partition_policies(self.owner, fault, cluster, sides):
                objects.create_or_get(self.kube, policy)
            self._record(fault.name, targets=tuple(targets), injected_at=at)
            return
        for target in targets:
            refused = plan.deletable(pods[target], self.owner.name)
            if refused is not None:
                raise plan.FaultError(refused)
        seen = FaultObserved(targets=tuple(targets), injected_at=at)
        if fault.action == "RollingRestart":
            self._roll(fault, seen, pods)
        else:
            grace = 0 if fault.action == "NodeKill" else None
            for target in targets:
                uid = pods[target]["metadata"].get("uid")
                objects.delete(self.kube, "Pod", self.owner.namespace, target, grace=grace, uid=uid)
        self._record(fault.name, seen)

    def heal(self, name: str, seen: FaultObserved) -> None:
        """Remove a Partition's policies; a node fault's Pods restarted at the injection."""
        fault = self._fault(name)
        if fault.action == "Partition":
            try:
                for policy in plan.policy_names(self.owner.name, name):
                    objects.delete(self.kube, "NetworkPolicy", self.owner.namespace, policy)
            except KubeError as exc:
                self._record(name, seen, error=f"cannot remove the partition: {exc}")
                return
        self._record(name, seen, healed_at=self.clock())

    # ------------------------------------------------------------------ between actions

    def advance(self, observed: Observed) -> None:
        """Move each active fault on: the rolling restart's next Pod, the recovery probes."""
        cluster = self._cluster()
        if cluster is None or observed.torn_down:
            return
        for fault in self.spec.faults:
            seen = observed.faults.get(fault.name)
            if seen is None or seen.error is not None or seen.recovered_at is not None:
                continue
            if seen.injected_at is None:
                continue
            try:
                if fault.action == "RollingRestart" and seen.healed_at is None:
                    self._roll(fault, seen, self._pods(cluster))
                elif seen.healed_at is not None:
                    self._recover(fault, seen, cluster)
            except (plan.FaultError, KubeError) as exc:
                self._record(fault.name, seen, error=str(exc))

    def _roll(self, fault: FaultSpec, seen: FaultObserved, pods: Mapping[str, Any]) -> None:
        assert seen.injected_at is not None
        step = plan.roll(seen.targets, pods, seen.injected_at)
        if step.done_at is not None:
            self._record(fault.name, seen, healed_at=step.done_at, recovered_at=step.done_at)
        elif step.delete is not None:
            pod = pods[step.delete]
            refused = plan.deletable(pod, self.owner.name)
            if refused is not None:
                raise plan.FaultError(refused)
            uid = pod["metadata"].get("uid")
            objects.delete(self.kube, "Pod", self.owner.namespace, step.delete, uid=uid)

    def _recover(self, fault: FaultSpec, seen: FaultObserved, cluster: str) -> None:
        """Recovered when a probe Job completes; start one when none runs (spaced, retried)."""
        assert seen.healed_at is not None
        assert seen.injected_at is not None
        selector = (
            f"{LABEL_TESTRUN}={label_value(self.owner.name)},"
            f"{LABEL_COMPONENT}={plan.RECOVERY},{plan.LABEL_FAULT}={fault.name}"
        )
        jobs = objects.list_labelled(self.kube, "Job", self.owner.namespace, selector)
        for job in jobs:
            if plan.condition(job, "Complete"):
                finished = (
                    plan.timestamp((job.get("status") or {}).get("completionTime")) or self.clock()
                )
                self._record(fault.name, seen, recovered_at=max(finished, seen.healed_at))
                return
        if any(not plan.condition(j, "Failed") for j in jobs):
            return
        now = self.clock()
        started = [plan.timestamp(j["metadata"].get("creationTimestamp")) for j in jobs]
        newest = max((t for t in started if t is not None), default=None)
        if newest is not None and now - newest < PROBE_SPACING:
            return
        restarted = fault.action != "Partition"
        nodes = plan.addresses(
            seen.targets, self._pods(cluster).values(), seen.injected_at, restarted
        )
        if nodes is None:
            return  # a restarted node's Pod has no address yet
        targets, others = nodes
        observers = targets if fault.action == "Partition" else others
        connection, secrets, image = self._probe()
        left = seen.healed_at + fault.expect_recovery_within - now
        job = plan.recovery_job(
            self.owner,
            fault.name,
            len(jobs) + 1,
            connection,
            (targets, observers),
            image=image,
            timeout=plan.probe_timeout(left),
            secrets=secrets,
        )
        objects.create_or_get(self.kube, job)


def remove_policies(kube: Kube, namespace: str, run: str) -> None:
    """Delete every Partition NetworkPolicy of run ``run`` (teardown and deletion)."""
    selector = f"{LABEL_TESTRUN}={label_value(run)},{plan.LABEL_FAULT}"
    for policy in objects.list_labelled(kube, "NetworkPolicy", namespace, selector):
        objects.delete(kube, "NetworkPolicy", namespace, policy["metadata"]["name"])
