"""``spec.cluster.reuse``: run against a warm cluster from a pool instead of a fresh one.

Kept apart from :mod:`cqltest.model.spec` because the pool's knobs (limits, how long an idle
cluster lives, how long a claim may wait) are a policy of their own, and their cross-field
checks (``pool_problems``) mirror the CEL rules attached to ``ClusterSpec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from cqltest.errors import Problem
from cqltest.model.types import CamelModel, Duration

DEFAULT_POOL = "default"


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
