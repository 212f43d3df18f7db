"""What the engine asks a backend to do next, and how each action reaches the backend.

Actions are plain values: applying one twice must be harmless (a backend starts the attempt
named ``child_name(run, suite, attempt)`` only if it does not exist yet, cancels only a live
attempt), which is what makes re-deciding on the same observation safe.

Every backend (local loop, operator, the unit tests' simulator) turns the actions into the same
calls in the same order and stops at the Finish; ``apply_actions`` does that routing once, so a
new action becomes a missing :class:`Backend` method that mypy reports in each backend instead
of a branch some backend forgot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, assert_never

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
class InjectFault:
    """Inject fault ``name`` of ``spec.faults`` (once: later decisions see it injected)."""

    name: str


@dataclass(frozen=True)
class HealFault:
    """Undo fault ``name`` (restart, thaw, remove the partition) and watch its nodes recover."""

    name: str


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


Action = (
    ProvisionCluster | StartSuite | CancelSuite | InjectFault | HealFault | TeardownCluster | Finish
)


class Backend(Protocol):
    """What a backend does for each action; each call must be idempotent (see above)."""

    def provision_cluster(self) -> None: ...

    def start_suite(self, action: StartSuite) -> None: ...

    def cancel_suite(self, action: CancelSuite) -> None: ...

    def inject_fault(self, action: InjectFault) -> None: ...

    def heal_fault(self, action: HealFault) -> None: ...

    def teardown_cluster(self) -> None: ...


def apply_actions(actions: Iterable[Action], backend: Backend) -> Finish | None:
    """Apply ``actions`` in order; the Finish that ends the run, if one came, is returned."""
    for action in actions:
        if isinstance(action, ProvisionCluster):
            backend.provision_cluster()
        elif isinstance(action, StartSuite):
            backend.start_suite(action)
        elif isinstance(action, CancelSuite):
            backend.cancel_suite(action)
        elif isinstance(action, InjectFault):
            backend.inject_fault(action)
        elif isinstance(action, HealFault):
            backend.heal_fault(action)
        elif isinstance(action, TeardownCluster):
            backend.teardown_cluster()
        elif isinstance(action, Finish):
            # decide puts Finish last; writing the final status is the caller's, after this.
            return action
        else:
            assert_never(action)
    return None
