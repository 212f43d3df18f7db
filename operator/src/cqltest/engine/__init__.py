"""The engine both backends share: ``decide`` the next actions and ``aggregate_status``.

``step`` is one turn of the loop every backend runs (observe, decide, apply, publish).

Pure: given the spec, an observation and the current time, it returns values; it reads no
clock, no files and no network. See :mod:`.evaluate` for the rules.
"""

from cqltest.engine import actions
from cqltest.engine.actions import (
    Action,
    Backend,
    CancelSuite,
    Finish,
    HealFault,
    InjectFault,
    ProvisionCluster,
    StartSuite,
    TeardownCluster,
    apply_actions,
)
from cqltest.engine.decide import attempt_deadline, decide, teardown_due
from cqltest.engine.evaluate import Evaluation, SuiteView, evaluate
from cqltest.engine.names import child_name
from cqltest.engine.observed import (
    AttemptObserved,
    AttemptState,
    ClusterObserved,
    FaultObserved,
    Observed,
)
from cqltest.engine.status import aggregate_status, invalid_status
from cqltest.engine.step import Step, World, step
from cqltest.engine.world import observed_from_world

__all__ = [
    "Action",
    "AttemptObserved",
    "AttemptState",
    "Backend",
    "CancelSuite",
    "ClusterObserved",
    "Evaluation",
    "FaultObserved",
    "Finish",
    "HealFault",
    "InjectFault",
    "Observed",
    "ProvisionCluster",
    "StartSuite",
    "Step",
    "SuiteView",
    "TeardownCluster",
    "World",
    "actions",
    "aggregate_status",
    "apply_actions",
    "attempt_deadline",
    "child_name",
    "decide",
    "evaluate",
    "invalid_status",
    "observed_from_world",
    "step",
    "teardown_due",
]
