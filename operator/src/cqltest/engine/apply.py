"""``apply_actions``: route ``decide``'s actions to the backend that carries them out.

Every backend (local loop, operator, the unit tests' simulator) turns the same actions into the
same calls in the same order and stops at the Finish. Routing them in one place keeps that order
identical everywhere, and a new action becomes a missing method that mypy reports in each
backend instead of a branch some backend forgot. Pure: it only calls what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, assert_never

from cqltest.engine.actions import (
    Action,
    CancelSuite,
    Finish,
    ProvisionCluster,
    StartSuite,
    TeardownCluster,
)


class Backend(Protocol):
    """What a backend does for each action; each call must be idempotent (see :mod:`.actions`)."""

    def provision_cluster(self) -> None: ...

    def start_suite(self, action: StartSuite) -> None: ...

    def cancel_suite(self, action: CancelSuite) -> None: ...

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
        elif isinstance(action, TeardownCluster):
            backend.teardown_cluster()
        elif isinstance(action, Finish):
            # decide puts Finish last; writing the final status is the caller's, after this.
            return action
        else:
            assert_never(action)
    return None
