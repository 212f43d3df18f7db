"""What the engine asks a backend to do next.

Actions are plain values: applying one twice must be harmless (a backend starts the attempt
named ``child_name(run, suite, attempt)`` only if it does not exist yet, cancels only a live
attempt), which is what makes re-deciding on the same observation safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CancelOutcome = Literal["TimedOut", "Cancelled"]
FinishPhase = Literal["Succeeded", "Failed", "Error"]


@dataclass(frozen=True)
class ProvisionCluster:
    """Create the cluster (or attach to ``spec.cluster.existing``)."""


@dataclass(frozen=True)
class StartSuite:
    """Start attempt ``attempt`` (1-based) of suite ``name``."""

    name: str
    attempt: int


@dataclass(frozen=True)
class CancelSuite:
    """Stop a running attempt; record it afterwards with state ``outcome`` and ``reason``."""

    name: str
    attempt: int
    reason: str
    outcome: CancelOutcome = "Cancelled"


@dataclass(frozen=True)
class TeardownCluster:
    """Delete the provisioned cluster (never emitted for an existing cluster)."""


@dataclass(frozen=True)
class Finish:
    """The run is over: write the final status with this phase."""

    phase: FinishPhase
    reason: str
    """CamelCase, e.g. AllSuitesPassed, SuitesFailed, RunTimeout, ClusterFailed, Interrupted."""
    message: str = ""


Action = ProvisionCluster | StartSuite | CancelSuite | TeardownCluster | Finish
