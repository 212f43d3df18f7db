"""apply_actions(): every backend gets decide's actions as the same calls, in order."""

from __future__ import annotations

from cqltest.engine import actions as act


class Recorder:
    def __init__(self) -> None:
        self.calls: list[object] = []

    def provision_cluster(self) -> None:
        self.calls.append("provision")

    def start_suite(self, action: act.StartSuite) -> None:
        self.calls.append(action)

    def cancel_suite(self, action: act.CancelSuite) -> None:
        self.calls.append(action)

    def teardown_cluster(self) -> None:
        self.calls.append("teardown")


def test_actions_become_calls_in_order_without_a_finish() -> None:
    backend = Recorder()
    cancel = act.CancelSuite("a", 1, "run timeout", "TimedOut")
    start = act.StartSuite("b", 2)
    actions: list[act.Action] = [act.ProvisionCluster(), cancel, start]
    assert act.apply_actions(actions, backend) is None
    assert backend.calls == ["provision", cancel, start]


def test_the_finish_is_returned_after_what_precedes_it() -> None:
    backend = Recorder()
    finish = act.Finish("Succeeded", "AllSuitesPassed")
    assert act.apply_actions([act.TeardownCluster(), finish], backend) is finish
    assert backend.calls == ["teardown"]
