"""``decide``: the next actions of a run, from its spec and one observation.

Pure and idempotent: the same observation always yields the same actions, and a StartSuite
always names an attempt number above every attempt already observed, so a backend that decides
again before its last actions show up in the observation creates nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cqltest.engine.actions import Action, Finish, ProvisionCluster, TeardownCluster
from cqltest.engine.evaluate import Evaluation, evaluate
from cqltest.engine.observed import Observed
from cqltest.model import TestRunSpec


def teardown_due(spec: TestRunSpec, observed: Observed, evaluation: Evaluation) -> bool:
    """Whether the provisioned cluster should be deleted now that the run is over."""
    outcome = evaluation.outcome
    if outcome is None or spec.cluster.existing is not None or observed.torn_down:
        return False
    if observed.cluster.state == "Absent":
        return False
    policy = spec.cluster.teardown
    return policy == "Always" or (policy == "OnSuccess" and outcome.phase == "Succeeded")


def decide(spec: TestRunSpec, observed: Observed, now: datetime) -> list[Action]:
    """The actions to apply next, in order; a run is over once the list holds a Finish."""
    evaluation = evaluate(spec, observed, now)
    outcome = evaluation.outcome
    if outcome is not None:
        actions: list[Action] = []
        if teardown_due(spec, observed, evaluation):
            actions.append(TeardownCluster())
        else:  # a kept cluster is left whole: nothing stays killed, frozen or cut off
            actions += evaluation.heals
        actions.append(Finish(outcome.phase, outcome.reason, outcome.message))
        return actions
    if observed.cluster.state == "Absent" and evaluation.stop is None:
        return [ProvisionCluster()]
    return [*evaluation.cancels, *evaluation.heals, *evaluation.injects, *evaluation.starts]


def attempt_deadline(spec: TestRunSpec, suite: str, observed: Observed, now: datetime) -> timedelta:
    """How long an attempt started now may run: its suite's timeout, or the run's time left."""
    limit = next(s.timeout for s in spec.suites if s.name == suite)
    cluster = observed.cluster
    since = cluster.ready_at or cluster.started_at or observed.started_at
    if spec.timeout is not None:
        limit = min(limit, max(timedelta(0), spec.timeout - (now - since)))
    return limit
