"""The pure parts of `cqltest submit`, `status` and `logs`: namespaces, verdicts, reports, pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cqltest.cli.app import main
from cqltest.cli.submit import (
    WAITING,
    attempt_selector,
    attempts_of,
    junit_xml,
    pick_pod,
    report_complete,
    resolve_namespace,
    status_of,
    verdict,
)
from cqltest.errors import InputError
from cqltest.model import AttemptStatus, SuiteStatus, TestRunStatus


def _status(phase: str, *history: tuple[str, int, str]) -> TestRunStatus:
    suites: dict[str, list[AttemptStatus]] = {}
    for suite, attempt, state in history:
        suites.setdefault(suite, []).append(AttemptStatus(attempt=attempt, state=state))
    return TestRunStatus(
        phase=phase,
        suites=[
            SuiteStatus(name=name, phase="Passed", wave=1, attempts=len(records), history=records)
            for name, records in suites.items()
        ],
    )


def _labelled(attempt: str, created: str = "2026-01-01T00:00:00Z", name: str = "p") -> Any:
    labels = {"cqltest.dev/attempt": attempt}
    return {"metadata": {"name": name, "labels": labels, "creationTimestamp": created}}


@pytest.mark.parametrize(
    ("manifest", "flag", "expected"),
    [(None, None, "ctx"), ("own", None, "own"), (None, "flag", "flag"), ("same", "same", "same")],
)
def test_namespace_is_the_flag_then_the_manifests_then_the_contexts(
    manifest: str | None, flag: str | None, expected: str
) -> None:
    assert resolve_namespace(manifest, flag, "ctx") == expected


def test_a_manifest_namespace_other_than_the_flag_is_bad_input() -> None:
    with pytest.raises(InputError, match="'own' does not match --namespace 'other'"):
        resolve_namespace("own", "other", "ctx")


def test_a_testrun_without_status_reads_as_pending_waiting_for_the_operator() -> None:
    assert status_of({"metadata": {"name": "x"}}) == TestRunStatus(phase="Pending", message=WAITING)
    assert status_of({"status": {"kopf": {"progress": {}}}}).phase == "Pending"


def test_a_status_is_read_through_the_model_without_kopfs_field() -> None:
    status = status_of({"status": {"phase": "Running", "message": "wave 1/2", "kopf": {"x": 1}}})
    assert (status.phase, status.message, status.kopf) == ("Running", "wave 1/2", None)


@pytest.mark.parametrize(
    ("phase", "code"), [("Succeeded", 0), ("Failed", 1), ("Error", 1), ("Invalid", 2)]
)
def test_exit_codes_are_those_of_cqltest_run(phase: str, code: int) -> None:
    assert verdict(TestRunStatus(phase=phase)) == code


def test_the_report_is_complete_once_every_finished_attempt_and_the_junit_are_in() -> None:
    status = _status("Succeeded", ("a", 1, "Failed"), ("a", 2, "Succeeded"), ("b", 1, "Running"))
    assert not report_complete(None, status)
    assert not report_complete({"a.a1.json": "{}", "a.a2.json": "{}"}, status)
    assert not report_complete({"a.a2.json": "{}", "junit.xml": "<x/>"}, status)
    assert report_complete({"a.a1.json": "{}", "a.a2.json": "{}", "junit.xml": "<x/>"}, status)
    # A cut report is as complete as it will get.
    assert report_complete({"TRUNCATED": "cut"}, status)


def test_junit_is_the_configmaps_when_it_has_one() -> None:
    status = _status("Succeeded", ("a", 1, "Succeeded"))
    assert junit_xml("run", status, {"junit.xml": "<testsuites/>"}) == "<testsuites/>"


def test_junit_is_rendered_from_the_status_without_a_report() -> None:
    xml = junit_xml("run", _status("Failed", ("a", 1, "Failed")), None)
    assert xml.startswith("<?xml")
    assert 'name="a"' in xml


def test_the_attempt_selector_names_run_suite_component_and_attempt() -> None:
    assert attempt_selector("run", "reads") == (
        "cqltest.dev/testrun=run,cqltest.dev/suite=reads,cqltest.dev/component=suite"
    )
    assert attempt_selector("run", "reads", 3).endswith(",cqltest.dev/attempt=3")
    # A long run name is selected by the label value the operator wrote (hashed to fit).
    long = "r" * 80
    value = attempt_selector(long, "s").split(",")[0].split("=")[1]
    assert len(value) <= 63


def test_attempts_are_read_from_labels_in_order_ignoring_junk() -> None:
    assert attempts_of([_labelled("2"), _labelled("1"), _labelled("x"), {"metadata": {}}]) == [1, 2]


def test_the_latest_attempts_newest_pod_is_picked_by_default() -> None:
    pods = [
        _labelled("1", name="first"),
        _labelled("2", "2026-01-01T00:00:01Z", "old"),
        _labelled("2", "2026-01-01T00:00:09Z", "new"),
    ]
    assert pick_pod("run", "s", None, [], pods)["metadata"]["name"] == "new"
    assert pick_pod("run", "s", 1, [], pods)["metadata"]["name"] == "first"


def test_no_attempt_yet_is_said() -> None:
    with pytest.raises(InputError, match="suite s of TestRun run has not started an attempt"):
        pick_pod("run", "s", None, [], [])


def test_a_missing_attempt_lists_the_ones_there_are() -> None:
    with pytest.raises(InputError, match="has no attempt 3; it has 1, 2"):
        pick_pod("run", "s", 3, [_labelled("1"), _labelled("2")], [_labelled("1")])


def test_an_attempt_whose_pod_is_gone_is_said() -> None:
    with pytest.raises(InputError, match="attempt 2 of suite s of TestRun run has no pod"):
        pick_pod("run", "s", None, [_labelled("2")], [_labelled("1")])


def test_timeout_and_junit_without_wait_are_bad_input(tmp_path: Path) -> None:
    manifest = tmp_path / "x.yaml"
    manifest.write_text("kind: TestRun\n")
    for flag in (["--timeout", "1m"], ["--junit", str(tmp_path / "j.xml")]):
        result = CliRunner().invoke(main, ["submit", str(manifest), *flag])
        assert result.exit_code == 2
        assert "only apply with --wait" in result.stderr


def test_a_malformed_timeout_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["submit", str(tmp_path / "x.yaml"), "--wait", "--timeout", "soon"]
    )
    assert result.exit_code == 2
    assert "--timeout" in result.stderr
