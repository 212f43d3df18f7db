"""The operator's sleep between reconciles of one run: backed off while nothing changes, but
never past the moment the clock makes something due (CI saw a fault due 5 s into a 19 s suite
miss its moment behind a doubled idle delay)."""

from __future__ import annotations

from cqltest.kube.reconcile import Outcome
from cqltest.operator.handlers import MAX_IDLE_DELAY, MIN_DUE_DELAY, backoff


def test_an_idle_run_backs_off_up_to_the_cap() -> None:
    outcome = Outcome(None, finished=False, delay=5.0)
    assert [backoff(outcome, idle) for idle in range(4)] == [5.0, 10.0, 20.0, MAX_IDLE_DELAY]


def test_something_due_cuts_the_backoff_short() -> None:
    outcome = Outcome(None, finished=False, delay=5.0, due_in=3.5)
    assert backoff(outcome, 2) == 3.5
    assert backoff(Outcome(None, finished=False, delay=0.5, due_in=3.5), 0) == 0.5


def test_something_overdue_turns_again_at_once() -> None:
    assert backoff(Outcome(None, finished=False, delay=5.0, due_in=-2.0), 3) == MIN_DUE_DELAY
