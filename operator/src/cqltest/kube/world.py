"""One TestRun in operator mode, as the engine's :class:`~cqltest.engine.step.World`.

The operator is the engine's third user: this class observes the run's children (Jobs, pods,
the K8ssandraCluster, the CQL probe Job) and carries out the engine's actions on them; the
handlers in ``cqltest.operator`` only call :func:`cqltest.kube.reconcile.reconcile`. Nothing is
kept in memory between reconciles: what the engine needs to know comes back every time from the
TestRun's status and its children (``engine.world``), so an operator restarted at any point
carries on where the last one stopped, and every action is idempotent by name.

Provisioning: ``ProvisionCluster`` creates the TLS Secrets and installs the ``cqltest-cluster``
release; while the status says Provisioning, each reconcile reads the K8ssandraCluster and, once
it meets the readiness contract, runs a CQL probe Job from inside the cluster (the operator may
not reach pod addresses); the cluster is Ready when a probe completes. An existing cluster is
probed the same way. Cancelling an attempt annotates its Job first, and the Job is deleted only
after the status recording the cancel is published (the order ``engine.world`` relies on).

A ``spec.cluster.reuse`` run provisions and tears down through :mod:`cqltest.kube.pooled`
instead: its cluster is claimed from (or provisioned into) a pool and given back at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cqltest.engine import (
    CancelSuite,
    ClusterObserved,
    HealFault,
    InjectFault,
    Observed,
    StartSuite,
    child_name,
)
from cqltest.engine.decide import attempt_deadline
from cqltest.engine.k8ssandra import k8ssandra_view
from cqltest.engine.names import (
    ANNOTATION_CANCEL_REASON,
    ANNOTATION_CANCELLED,
    LABEL_COMPONENT,
    LABEL_TESTRUN,
    label_value,
)
from cqltest.engine.world import observed_from_world
from cqltest.kube import objects
from cqltest.kube.access import ClusterAccess
from cqltest.kube.client import Kube
from cqltest.kube.faults import KubeFaults, remove_policies
from cqltest.kube.helm import Releases, chart_path
from cqltest.kube.pooled import PooledRun
from cqltest.model import TestRunSpec, TestRunStatus
from cqltest.render.cluster import cluster_name, cluster_values, release_name
from cqltest.render.environment import Connection
from cqltest.render.job import render_job, render_probe_job
from cqltest.render.pods import Owner, Secrets
from cqltest.render.tls import secret_names, tls_secrets

Clock = Callable[[], datetime]
CLUSTER_CHART = "cqltest-cluster"
MAX_PROBES = 10
"""Failed CQL probes before the cluster counts as Failed (each probe retries for minutes)."""
PROBE_SPACING = 5.0
"""Seconds between the start of one probe and the next, when one failed."""


@dataclass(frozen=True)
class Settings:
    """What the operator was started with."""

    default_image: str
    kubeconfig: Path | None = None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _condition(job: Mapping[str, Any], kind: str) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


class RunWorld:
    """The engine's view of, and hands on, one TestRun's children."""

    def __init__(
        self,
        kube: Kube,
        releases: Releases,
        obj: Mapping[str, Any],
        spec: TestRunSpec,
        status: TestRunStatus | None,
        settings: Settings,
        clock: Clock,
    ) -> None:
        meta = obj["metadata"]
        self.kube, self.releases, self.spec, self.settings, self.clock = (
            kube,
            releases,
            spec,
            settings,
            clock,
        )
        self.status = status
        self.owner = Owner(meta["name"], meta["namespace"], meta["uid"])
        self.created_at = _time(meta.get("creationTimestamp")) or clock()
        self.deleting = bool(meta.get("deletionTimestamp"))
        self.selector = f"{LABEL_TESTRUN}={label_value(self.owner.name)}"
        self.to_delete: list[str] = []
        self._cluster: ClusterObserved | None = None
        self._torn_down = False
        provisioned = spec.cluster.existing is None
        self.cluster = cluster_name(self.owner.name, spec.cluster) if provisioned else None
        self.tls = secret_names(self.owner.name, spec.cluster) if provisioned else None
        existing = spec.cluster.existing
        self.attached = existing.k8ssandra_cluster if existing is not None else None
        """The K8ssandraCluster an existing-cluster run attaches to, by name."""
        self.pooled = (
            PooledRun(kube, releases, self.owner, spec, clock)
            if spec.cluster.reuse and provisioned
            else None
        )
        if self.pooled is not None:
            self._pooled_names()
        self.faults = KubeFaults(
            kube,
            self.owner,
            spec,
            lambda: self.cluster or self.attached,
            lambda: (self.connection(), self.secrets(), self.settings.default_image),
            clock,
        )

    # ------------------------------------------------------------------ observing

    def observe(self) -> Observed:
        jobs = objects.list_labelled(self.kube, "Job", self.owner.namespace, self.selector)
        pods = objects.list_labelled(self.kube, "Pod", self.owner.namespace, self.selector)
        observed = observed_from_world(
            self.spec,
            run=self.owner.name,
            status=self.status,
            jobs=jobs,
            pods=pods,
            created_at=self.created_at,
            now=self.clock(),
            deleting=self.deleting,
        )
        cluster = self._cluster or observed.cluster
        return replace(
            observed,
            cluster=cluster,
            torn_down=observed.torn_down or self._torn_down,
            faults={**observed.faults, **self.faults.records},
        )

    def advance_cluster(self, observed: Observed) -> None:
        """While provisioning: read the K8ssandraCluster, probe over CQL once it says Ready."""
        cluster = observed.cluster
        if cluster.state != "Provisioning" or observed.torn_down:
            return
        if self.pooled is not None and not self._claim(cluster):
            return
        dcs = [dc.name for dc in self.spec.cluster.datacenters]
        watched = self.cluster or self.attached
        if watched is not None:
            obj = objects.get_custom(self.kube, *objects.K8SSANDRA, self.owner.namespace, watched)
            if obj is None and self.attached is not None:
                self._cluster = replace(
                    cluster,
                    state="Failed",
                    message=f"spec.cluster.existing.k8ssandraCluster: no K8ssandraCluster "
                    f"{self.attached!r} in namespace {self.owner.namespace}",
                )
                return
            if self.attached is not None and obj is not None:
                dcs = [d["metadata"]["name"] for d in obj["spec"]["cassandra"]["datacenters"]]
            view = k8ssandra_view(obj, dcs)
            self._cluster = replace(cluster, datacenters=view.datacenters, message=view.message)
            if not view.ready:
                return
        probes = objects.list_labelled(
            self.kube, "Job", self.owner.namespace, f"{self.selector},{LABEL_COMPONENT}=probe"
        )
        done = [p for p in probes if _condition(p, "Complete")]
        base = self._cluster or cluster
        if done and self.pooled is not None:
            self.pooled.after_probe(done[0])
        if done:
            ready_at = _time((done[0].get("status") or {}).get("completionTime")) or self.clock()
            self._cluster = replace(
                base,
                state="Ready",
                ready_at=ready_at,
                message=None,
                name=self.cluster,
                contact_points=self.connection().contact_points,
                datacenters=dict.fromkeys(dcs, "Ready"),
            )
            return
        running = [p for p in probes if not _condition(p, "Failed")]
        if self.pooled is not None and self.pooled.warm and len(running) < len(probes):
            failed = next(p for p in probes if _condition(p, "Failed"))
            self._cluster = replace(base, message=self.pooled.replace(self._probe_message(failed)))
            self._delete_probes()
            return
        if len(probes) - len(running) >= MAX_PROBES:
            last = max(probes, key=lambda p: str(p["metadata"].get("creationTimestamp")))
            self._cluster = replace(
                base,
                state="Failed",
                message=f"the CQL probe failed {MAX_PROBES} times; "
                f"last: {self._probe_message(last)}",
            )
            return
        starts = [_time(p["metadata"].get("creationTimestamp")) for p in probes]
        newest = max((t for t in starts if t is not None), default=None)
        spaced = newest is None or (self.clock() - newest).total_seconds() >= PROBE_SPACING
        if not running and spaced:
            attempt, image = len(probes) + 1, self.settings.default_image
            job = (
                self.pooled.probe_job(attempt, self.connection(), self.secrets(), image)
                if self.pooled is not None
                else render_probe_job(
                    self.owner, attempt, self.connection(), image=image, secrets=self.secrets()
                )
            )
            objects.create_or_get(self.kube, job)
        self._cluster = replace(base, message=f"{base.message or 'cluster'}; probing CQL")

    def _claim(self, cluster: ClusterObserved) -> bool:
        """A pooled run holds a cluster before watching it; False while it waits (or failed)."""
        assert self.pooled is not None
        try:
            waiting = self.pooled.claim(cluster.started_at)
        except TimeoutError as exc:
            self._cluster = replace(cluster, state="Failed", message=str(exc))
            return False
        if waiting is not None:
            self._cluster = replace(cluster, message=waiting, waiting=waiting)
            return False
        self._pooled_names()
        return True

    def _pooled_names(self) -> None:
        assert self.pooled is not None
        release = self.pooled.release
        self.cluster = self.pooled.cluster
        self.tls = secret_names(release, self.spec.cluster) if release is not None else None

    def _delete_probes(self) -> None:
        selector = f"{self.selector},{LABEL_COMPONENT}=probe"
        for probe in objects.list_labelled(self.kube, "Job", self.owner.namespace, selector):
            objects.delete(self.kube, "Job", self.owner.namespace, probe["metadata"]["name"])

    def _probe_message(self, job: Mapping[str, Any]) -> str:
        """The termination message (or reason) of a failed probe Job's pod."""
        selector = f"job-name={job['metadata']['name']}"
        for pod in objects.list_labelled(self.kube, "Pod", self.owner.namespace, selector):
            for container in (pod.get("status") or {}).get("containerStatuses") or []:
                terminated = (container.get("state") or {}).get("terminated") or {}
                text = terminated.get("message") or terminated.get("reason")
                if text:
                    return str(text).strip()[-800:]
        return "no message"

    # ------------------------------------------------------------------ connection

    def access(self) -> ClusterAccess:
        return ClusterAccess(
            self.kube, self.owner, self.spec, self.cluster, self.attached, self.tls
        )

    def connection(self) -> Connection:
        return self.access().connection()

    def secrets(self) -> Secrets:
        return self.access().secrets()

    # ------------------------------------------------------------------ the engine's actions

    def provision_cluster(self) -> None:
        now = self.clock()
        dcs = {dc.name: "Provisioning" for dc in self.spec.cluster.datacenters}
        self._cluster = ClusterObserved(
            "Provisioning",
            started_at=now,
            datacenters=dcs,
            name=self.cluster,
            message="installing the cluster release"
            if self.cluster
            else "probing the existing cluster",
        )
        if self.pooled is not None:
            pool = f"claiming a cluster from pool {self.pooled.pool}"
            self._cluster = replace(self._cluster, message=pool)
            self._claim(self._cluster)
            return
        if self.cluster is None:
            return
        for secret in tls_secrets(self.owner.name, self.owner.namespace, self.spec.cluster):
            secret["metadata"]["ownerReferences"] = [self.owner.reference()]
            objects.create_or_get(self.kube, secret)
        owner = {
            k: str(v)
            for k, v in self.owner.reference().items()
            if k in ("apiVersion", "kind", "name", "uid")
        }
        values = cluster_values(
            self.owner.name,
            self.spec.cluster,
            tls_secrets=self.tls,
            superuser_secret=None,
            owner=owner,
        )
        self.releases.install(
            release_name(self.owner.name), chart_path(CLUSTER_CHART), values, self.owner.namespace
        )

    def start_suite(self, action: StartSuite) -> None:
        suite = next(s for s in self.spec.suites if s.name == action.name)
        observed = self.observe()
        deadline = attempt_deadline(self.spec, suite.name, observed, self.clock())
        job = render_job(
            self.owner,
            self.spec,
            suite,
            action.attempt,
            self.connection(),
            default_image=self.settings.default_image,
            deadline=deadline,
            secrets=self.secrets(),
        )
        objects.create_or_get(self.kube, job)

    def cancel_suite(self, action: CancelSuite) -> None:
        name = child_name(self.owner.name, action.name, action.attempt)
        annotations = {
            ANNOTATION_CANCELLED: action.outcome,
            ANNOTATION_CANCEL_REASON: action.reason,
        }
        objects.annotate(self.kube, "Job", self.owner.namespace, name, annotations)
        self.to_delete.append(name)

    def inject_fault(self, action: InjectFault) -> None:
        self.faults.inject(action.name)

    def heal_fault(self, action: HealFault) -> None:
        self.faults.heal(action.name, self.observe().faults[action.name])

    def teardown_cluster(self) -> None:
        """Uninstall the run's cluster, or give a pooled one back (reset by its next claim)."""
        remove_policies(self.kube, self.owner.namespace, self.owner.name)  # no cut outlives it
        if self.pooled is not None:
            self.pooled.give_back()
        elif self.cluster is not None:
            self.releases.uninstall(release_name(self.owner.name), self.owner.namespace)
        self._delete_probes()
        self._torn_down = True

    def after_publish(self) -> None:
        """Delete the Jobs of cancelled attempts, now that the status records their outcome.

        Every cancelled Job still there is deleted, not only this turn's: a reconcile that
        failed between publishing and deleting leaves its Job for the next one to remove.
        """
        jobs = objects.list_labelled(self.kube, "Job", self.owner.namespace, self.selector)
        for job in jobs:
            meta = job["metadata"]
            cancelled = ANNOTATION_CANCELLED in (meta.get("annotations") or {})
            if cancelled or meta["name"] in self.to_delete:
                objects.delete(self.kube, "Job", self.owner.namespace, meta["name"])
        self.to_delete.clear()
