"""``spec.cluster.reuse``: run against a warm cluster from a pool instead of a fresh one.

Kept apart from :mod:`cqltest.model.spec` because the pool's knobs (limits, how long an idle
cluster lives, how long a claim may wait) are a policy of their own, and their cross-field
checks (``pool_problems``) mirror the CEL rules attached to ``ClusterSpec``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from cqltest.errors import Problem
from cqltest.model.types import CamelModel, Duration

if TYPE_CHECKING:
    from cqltest.model.spec import ClusterSpec

DEFAULT_POOL = "default"
#: What a run asks of its cluster that does not change the cluster itself.
NOT_SHAPE = frozenset({"reuse", "pool", "pool_policy", "teardown", "ready_timeout"})
SHAPE_HASH = 10
#: Helm refuses release names longer than this.
RELEASE_LIMIT = 53


class PoolPolicy(CamelModel):
    """Limits and lifetimes of a pool, as this run asks for them when it claims and releases."""

    max_clusters: int = Field(
        default=4,
        ge=1,
        le=64,
        description="At most this many clusters (claimed, idle or being provisioned) in the pool; "
        "an idle cluster of another shape is destroyed to make room.",
    )
    max_per_shape: int = Field(
        default=1,
        ge=1,
        le=64,
        description="At most this many clusters of this run's shape in the pool; a claim beyond "
        "it waits for one to be released.",
    )
    idle_ttl: Duration = Field(
        default="30m",
        validate_default=True,
        description="An idle cluster released by this run is destroyed after this long unused "
        "(0s: at once).",
    )
    claim_timeout: Duration = Field(
        default="10m",
        validate_default=True,
        description="How long a claim waits for capacity before the run fails (0s: not at all).",
    )


def pool_problems(cluster: Mapping[str, Any]) -> list[Problem]:
    """The rules of ``reuse``/``pool``/``poolPolicy`` that JSON schema cannot express."""
    problems: list[Problem] = []
    reuse = cluster.get("reuse") is True
    if reuse and cluster.get("existing") is not None:
        problems.append(
            Problem(
                "spec.cluster.reuse",
                True,
                "reuse only applies to a provisioned cluster; an existing cluster is never "
                "pooled (remove reuse or existing)",
            )
        )
    for key in ("pool", "poolPolicy"):
        if cluster.get(key) is not None and not reuse:
            problems.append(
                Problem(
                    f"spec.cluster.{key}",
                    cluster.get(key),
                    f"{key} only applies with reuse: true",
                )
            )
    policy = cluster.get("poolPolicy")
    if isinstance(policy, Mapping):
        most, per_shape = policy.get("maxClusters"), policy.get("maxPerShape")
        if isinstance(most, int) and isinstance(per_shape, int) and per_shape > most:
            problems.append(
                Problem(
                    "spec.cluster.poolPolicy.maxPerShape",
                    per_shape,
                    f"maxPerShape {per_shape} exceeds maxClusters {most}; it must be at most "
                    "maxClusters",
                )
            )
    return problems


def cluster_shape(cluster: ClusterSpec, version: str) -> tuple[str, str]:
    """A stable hash of what makes two provisioned clusters interchangeable, and a short text.

    Everything in ``spec.cluster`` counts (version, datacenters with sizes and racks, security,
    resources and heap) except what only says how the run uses it (:data:`NOT_SHAPE`).
    ``version`` is the resolved one (``5.0`` and the ``5.0.x`` it means are one shape).
    """
    fields = cluster.model_dump(mode="json", exclude=set(NOT_SHAPE))
    fields["server_version"] = version
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    dcs = " ".join(f"{dc.name}:{dc.size}" for dc in cluster.datacenters)
    security = cluster.security
    extras = [
        flag
        for flag, on in (
            ("auth", security.authentication),
            ("client-tls", security.tls.client),
            ("internode-tls", security.tls.internode),
        )
        if on
    ]
    heap = cluster.resources.heap if cluster.resources and cluster.resources.heap else None
    text = " ".join([version, dcs, *([f"heap {heap}"] if heap else []), *extras])
    return digest[:SHAPE_HASH], text


def pooled_release(pool: str, shape: str, index: int) -> str:
    """The Helm release (and slot) of a pooled cluster: ``pool-<pool>-<shape>-<index>``.

    DNS-safe and within Helm's 53 characters: a long pool name is cut and a hash of it added,
    so two long pool names sharing a prefix still name different releases.
    """
    tail = f"-{shape}-{index}"
    name = f"pool-{pool}{tail}"
    if len(name) <= RELEASE_LIMIT:
        return name
    digest = hashlib.sha256(pool.encode()).hexdigest()[:6]
    room = RELEASE_LIMIT - len(tail) - len("pool--") - len(digest)
    return f"pool-{pool[:room].rstrip('-')}-{digest}{tail}"
