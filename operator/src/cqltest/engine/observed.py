"""What a backend saw: the cluster's state and every suite attempt, at one instant.

Backends (local processes, Kubernetes Jobs) build these from the world and hand them to the
engine; the engine never looks anywhere else. Everything is immutable so one observation can be
decided on and aggregated twice with the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from cqltest.model import AttemptState, SuiteResult

ClusterState = Literal["Absent", "Provisioning", "Ready", "Failed"]
__all__ = [
    "AttemptObserved",
    "AttemptState",
    "ClusterObserved",
    "ClusterState",
    "FaultObserved",
    "Observed",
]


@dataclass(frozen=True)
class ClusterObserved:
    """The cluster: not there yet, being provisioned (or attached), ready, or failed."""

    state: ClusterState = "Absent"
    message: str | None = None
    contact_points: tuple[str, ...] = ()
    started_at: datetime | None = None
    """When provisioning (or attaching) began; readyTimeout counts from here."""
    ready_at: datetime | None = None
    """When the cluster became ready; the run timeout counts from here."""
    name: str | None = None
    datacenters: Mapping[str, str] = field(default_factory=dict)
    """Per-datacenter state for the status document, e.g. ``{"dc1": "Ready"}``."""
    waiting: str | None = None
    """Why provisioning cannot start yet (a full pool): the run's message says it."""


@dataclass(frozen=True)
class AttemptObserved:
    """One attempt of one suite.

    ``state`` is the process/Job outcome: Succeeded means exit 0, before thresholds are checked.
    Cancelled and TimedOut attempts are recorded by the backend after it applied a CancelSuite,
    with the action's outcome and reason.
    """

    attempt: int
    state: AttemptState
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: SuiteResult | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FaultObserved:
    """One fault as the backend carried it out: what it hit and when each step happened.

    ``error`` says why the backend could not inject, heal or see the nodes recover; the engine
    fails the fault (and the run) with it.
    """

    targets: tuple[str, ...] = ()
    injected_at: datetime | None = None
    healed_at: datetime | None = None
    recovered_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Observed:
    """Everything the engine needs to decide the next actions of one run."""

    cluster: ClusterObserved
    started_at: datetime
    attempts: Mapping[str, Sequence[AttemptObserved]] = field(default_factory=dict)
    interrupted: bool = False
    """The user pressed Ctrl-C, or the TestRun is being deleted."""
    torn_down: bool = False
    """The provisioned cluster has been deleted (after a TeardownCluster)."""
    faults: Mapping[str, FaultObserved] = field(default_factory=dict)
    """What each fault injected so far did, by fault name."""

    def attempts_of(self, suite: str) -> tuple[AttemptObserved, ...]:
        """The attempts of one suite, in attempt order."""
        return tuple(sorted(self.attempts.get(suite, ()), key=lambda a: a.attempt))
