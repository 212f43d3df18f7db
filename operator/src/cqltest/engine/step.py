"""One turn of the engine's loop: observe, decide, apply, publish; written once for every backend.

The local loop, the unit tests' simulator and the operator's reconcile all run this same turn,
so they differ only in how they observe the world (a :class:`World`) and where the status goes
(the caller's, after the turn). The turn re-observes after applying anything, so the published
status already shows what the actions started, with a clock read taken after them: an attempt
just started never looks older than the status that reports it.

Pure apart from what it is handed: it reads the clock only through ``clock`` and the world only
through ``world.observe``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cqltest.engine.actions import Action, Backend, Finish, ProvisionCluster, StartSuite
from cqltest.engine.actions import apply_actions as apply
from cqltest.engine.decide import decide
from cqltest.engine.evaluate import evaluate
from cqltest.engine.observed import Observed
from cqltest.engine.status import aggregate_status
from cqltest.model import TestRunSpec, TestRunStatus

Clock = Callable[[], datetime]
DecideHook = Callable[[Observed, datetime, list[Action]], None]
"""Called with what was decided before it is applied (local mode signals all cancels at once)."""


class World(Backend, Protocol):
    """A backend that can also say what it sees."""

    def observe(self) -> Observed: ...


@dataclass(frozen=True)
class Step:
    """What one turn saw, decided and left behind."""

    observed: Observed
    """The observation the actions were decided on."""
    now: datetime
    actions: tuple[Action, ...]
    finish: Finish | None
    """The Finish that ends the run, when this turn decided it."""
    status: TestRunStatus | None
    """The status after the actions (None when the turn was asked not to aggregate one)."""
    due: datetime | None = None
    """When the clock alone next makes something due (see ``Evaluation.due``; with the status)."""

    @property
    def busy(self) -> bool:
        """Something was just started: the world will change soon, so turn again at once."""
        return any(isinstance(a, StartSuite | ProvisionCluster) for a in self.actions)


def step(
    spec: TestRunSpec,
    world: World,
    clock: Clock,
    *,
    previous: TestRunStatus | None = None,
    generation: int | None = None,
    on_decide: DecideHook | None = None,
    publish: bool = True,
) -> Step:
    """Run one turn against ``world``; the caller publishes ``Step.status`` and loops."""
    observed, now = world.observe(), clock()
    actions = decide(spec, observed, now)
    if on_decide is not None:
        on_decide(observed, now, actions)
    finish = apply(actions, world)
    after, at = (world.observe(), clock()) if actions else (observed, now)
    status = due = None
    if publish:
        evaluation = evaluate(spec, after, at)
        status = aggregate_status(
            spec, after, at, generation=generation, previous=previous, evaluation=evaluation
        )
        due = evaluation.due if finish is None else None
    return Step(observed, now, tuple(actions), finish, status, due)
