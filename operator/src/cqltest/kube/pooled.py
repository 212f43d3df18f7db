"""One TestRun's side of the pool in operator mode: its claim, its cluster's reset, its release.

:class:`~cqltest.kube.world.RunWorld` hands ``spec.cluster.reuse`` runs to this class at the
engine's two seams: ``ProvisionCluster`` (and every later reconcile while Provisioning) claims
a warm cluster or provisions one into the pool (:mod:`cqltest.kube.pool`), and
``TeardownCluster`` (or the TestRun's deletion) gives it back instead of uninstalling it. The
CQL probe Job of a pooled cluster runs ``cqlsuites reset`` (:mod:`cqltest.render.pool`): a
cluster given back dirty loses what its baseline does not name, and a new cluster's first
probe prints the baseline, recorded on its K8ssandraCluster. A warm cluster whose reset fails
is uninstalled and the run claims again, which provisions a replacement.

Like the rest of the operator it keeps nothing between reconciles: which cluster the run holds
is read back from the pool's annotations (claimed by this run's uid) every time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cqltest.kube import objects
from cqltest.kube.client import Kube
from cqltest.kube.helm import Releases, chart_path
from cqltest.kube.pool import PoolClient
from cqltest.model import TestRunSpec
from cqltest.model.claims import (
    ANNOTATION_CLAIMED_AT,
    ANNOTATION_CLAIMED_BY,
    LABEL_SHAPE,
    Claimant,
    Limits,
    Member,
    timestamp,
)
from cqltest.model.pool import PoolPolicy, cluster_shape
from cqltest.render.cluster import PoolValues, cluster_name, cluster_values, server_version
from cqltest.render.environment import Connection
from cqltest.render.pods import Owner, Secrets
from cqltest.render.pool import render_reset_job
from cqltest.render.tls import secret_names, tls_secrets

Clock = Callable[[], datetime]
CHART = "cqltest-cluster"


def baseline_of(log: str) -> dict[str, list[str]] | None:
    """The keyspaces and roles ``cqlsuites reset`` printed last, from its pod's log."""
    for line in reversed(log.splitlines()):
        text = line.strip()
        if text.startswith("{"):
            try:
                found = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(found, dict) and "keyspaces" in found:
                return {k: [str(v) for v in found.get(k) or []] for k in ("keyspaces", "roles")}
    return None


class PooledRun:
    """The pool as one run sees it: what it holds, how it claims, resets and gives back."""

    def __init__(
        self, kube: Kube, releases: Releases, owner: Owner, spec: TestRunSpec, clock: Clock
    ) -> None:
        self.kube, self.releases, self.owner, self.spec, self.clock = (
            kube,
            releases,
            owner,
            spec,
            clock,
        )
        cluster = spec.cluster
        self.pool = cluster.pool_name
        self.client = PoolClient(kube, releases, owner.namespace, self.pool)
        self.me = Claimant(owner.namespace, owner.name, owner.uid)
        self.shape, self.shape_text = cluster_shape(cluster, server_version(cluster))
        policy = cluster.pool_policy or PoolPolicy()
        self.limits = Limits(policy.max_clusters, policy.max_per_shape)
        self.idle_ttl = policy.idle_ttl.total_seconds()
        self.claim_timeout = policy.claim_timeout.total_seconds()
        self.member: Member | None = self._held()

    def _held(self) -> Member | None:
        return next(
            (
                m
                for m in self.client.members()
                if m.claimant is not None and m.claimant.uid == self.me.uid and not m.retiring
            ),
            None,
        )

    @property
    def cluster(self) -> str | None:
        """The K8ssandraCluster this run holds (installed or being installed), if any."""
        if self.member is None:
            return None
        return self.member.cluster or cluster_name(self.member.release, self.spec.cluster)

    @property
    def release(self) -> str | None:
        return self.member.release if self.member is not None else None

    # ------------------------------------------------------------------ claiming

    def claim(self, started_at: datetime | None) -> str | None:
        """Hold a cluster (claim or provision); None when held, else why the run waits.

        Raises :class:`TimeoutError` with the reason once ``claimTimeout`` has passed.
        """
        if self.member is not None and self.member.cluster is not None:
            return None
        if self.member is None:
            now = self.clock()
            decision = self.client.claim(self.shape, self.shape_text, self.limits, self.me, now)
            if decision.kind == "wait":
                waited = (now - (started_at or now)).total_seconds()
                message = f"waiting for pool {self.pool} capacity: {decision.message}"
                if waited >= self.claim_timeout:
                    raise TimeoutError(
                        f"spec.cluster.poolPolicy.claimTimeout: no cluster of pool {self.pool} "
                        f"within {self.claim_timeout:g}s: {decision.message}"
                    )
                return message
            self.member = decision.member
        assert self.member is not None
        if self.member.cluster is None:
            self._install(self.member)
            self.member = self._held() or self.member
        return None

    def _install(self, member: Member) -> None:
        """Install a reserved slot's release: born claimed by this run, owned by no run."""
        spec = self.spec.cluster
        tls = secret_names(member.release, spec)
        for secret in tls_secrets(member.release, self.owner.namespace, spec):
            objects.create_or_get(self.kube, secret)
        first_claim = {
            ANNOTATION_CLAIMED_BY: self.me.text(),
            ANNOTATION_CLAIMED_AT: timestamp(self.clock()),
        }
        values = cluster_values(
            member.release,
            spec,
            tls_secrets=tls,
            superuser_secret=None,
            pool=PoolValues(self.pool, {LABEL_SHAPE: self.shape}, first_claim),
        )
        self.releases.install(member.release, chart_path(CHART), values, self.owner.namespace)

    # ------------------------------------------------------------------ reset

    def probe_job(
        self, attempt: int, connection: Connection, secrets: Secrets, image: str
    ) -> dict[str, Any]:
        """The reset Job: drop what the baseline does not name when the cluster is dirty."""
        member = self.member
        kept: Mapping[str, Sequence[str]] | None = None
        if member is not None and member.dirty:
            kept = member.baseline or {}
        return render_reset_job(
            self.owner, attempt, connection, image=image, kept=kept, secrets=secrets
        )

    @property
    def warm(self) -> bool:
        """Whether the held cluster served a run before (a fresh one has no baseline yet)."""
        return self.member is not None and self.member.baseline is not None

    def after_probe(self, job: Mapping[str, Any]) -> None:
        """A reset Job completed: the cluster is clean, and a new one gets its baseline."""
        member = self.member
        if member is None or member.cluster is None:
            return
        if not member.dirty and member.baseline is not None and member.unhealthy is None:
            return
        baseline = None
        if member.baseline is None:
            selector = f"job-name={job['metadata']['name']}"
            for pod in objects.list_labelled(self.kube, "Pod", self.owner.namespace, selector):
                log = objects.pod_log(self.kube, self.owner.namespace, pod["metadata"]["name"])
                baseline = baseline_of(log) or baseline
        self.client.record_reset(member, baseline)

    def replace(self, problem: str) -> str:
        """Give up the held (warm) cluster that failed its reset; the run will claim again."""
        member = self.member
        assert member is not None
        self.client.replace(member, problem)
        self.member = None
        return f"pool cluster {member.release} failed its health check ({problem}); replacing it"

    # ------------------------------------------------------------------ giving back

    def give_back(self) -> None:
        self.client.release(self.me, self.clock(), self.idle_ttl)
        self.member = None


def release_claim(
    kube: Kube, releases: Releases, obj: Mapping[str, Any], spec: TestRunSpec, now: datetime
) -> None:
    """A deleted pooled TestRun: give back whatever it holds (``cleanup``)."""
    meta = obj["metadata"]
    client = PoolClient(kube, releases, meta["namespace"], spec.cluster.pool_name)
    ttl = (spec.cluster.pool_policy or PoolPolicy()).idle_ttl.total_seconds()
    client.release(Claimant(meta["namespace"], meta["name"], meta["uid"]), now, ttl)
