"""Pod status documents and termination messages as the kubelet writes them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cqltest.localkube.agent.logserver import _older_than_asked, select
from cqltest.localkube.agent.statuses import (
    ContainerRun,
    Terminated,
    exit_status,
    message_limit,
    phase,
    pod_status,
    termination_message,
)


def finished(name: str, code: int) -> ContainerRun:
    run = ContainerRun(name, "img")
    run.set_running("2026-01-01T00:00:00Z", "id")
    run.set_terminated(Terminated(code, "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"))
    return run


def running(name: str) -> ContainerRun:
    run = ContainerRun(name, "img")
    run.set_running("2026-01-01T00:00:00Z", "id")
    return run


@pytest.mark.parametrize(
    ("policy", "codes", "expected"),
    [
        ("Never", [0, 0], "Succeeded"),
        ("Never", [0, 3], "Failed"),
        ("Never", [0, None], "Running"),
        ("OnFailure", [0, 3], "Running"),
        ("OnFailure", [0, 0], "Succeeded"),
        ("Always", [0, 0], "Running"),
    ],
)
def test_phase(policy: str, codes: list[int | None], expected: str) -> None:
    main = [running(f"c{i}") if c is None else finished(f"c{i}", c) for i, c in enumerate(codes)]
    assert phase(policy, [], main) == expected


def test_phase_waits_for_init_containers_and_fails_on_one_that_fails() -> None:
    waiting = [ContainerRun("c", "img")]
    assert phase("Never", [running("i")], waiting) == "Pending"
    assert phase("Never", [finished("i", 1)], waiting) == "Failed"
    assert phase("OnFailure", [finished("i", 1)], waiting) == "Pending"
    assert phase("Never", [finished("i", 0)], waiting) == "Pending"


def test_running_status_document() -> None:
    status = pod_status(
        pod_phase="Running", start_time="2026-01-01T00:00:00Z", init=[], main=[running("c")]
    )
    assert status["podIP"] == "127.0.0.1"
    assert status["containerStatuses"][0]["state"] == {
        "running": {"startedAt": "2026-01-01T00:00:00Z"}
    }
    kinds = {c["type"]: c["status"] for c in status["conditions"]}
    assert kinds == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
    }


def test_terminated_status_and_transition_times_kept() -> None:
    first = pod_status(pod_phase="Running", start_time=None, init=[], main=[running("c")])
    first["conditions"][1]["lastTransitionTime"] = "2000-01-01T00:00:00Z"
    done = pod_status(
        pod_phase="Failed",
        start_time=None,
        init=[],
        main=[finished("c", 3)],
        previous_conditions=first["conditions"],
    )
    state = done["containerStatuses"][0]["state"]["terminated"]
    assert (state["exitCode"], state["reason"]) == (3, "Error")
    initialized = next(c for c in done["conditions"] if c["type"] == "Initialized")
    assert initialized["lastTransitionTime"] == "2000-01-01T00:00:00Z"
    ready = next(c for c in done["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodFailed")


def test_restart_keeps_last_state() -> None:
    run = finished("c", 1)
    run.restart_count = 1
    run.set_waiting("CrashLoopBackOff", "back-off")
    doc = run.document()
    assert doc["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert doc["lastState"]["terminated"]["exitCode"] == 1
    assert doc["restartCount"] == 1


def test_termination_message_rules() -> None:
    log = b"".join(f"line {i}\n".encode() for i in range(200))
    assert termination_message(b"boom", "File", 1, log) == "boom"
    assert termination_message(b"", "File", 1, log) == ""
    assert termination_message(b"", "FallbackToLogsOnError", 0, log) == ""
    fallback = termination_message(b"", "FallbackToLogsOnError", 1, log)
    assert fallback.splitlines()[-1] == "line 199"
    assert len(fallback.splitlines()) == 80
    assert termination_message(b"x" * 5000 + b"end", "File", 1, b"") == "x" * 4093 + "end"
    assert message_limit(4) == 3072
    big = b"y" * 100 + b"\n"
    assert len(termination_message(b"", "FallbackToLogsOnError", 1, big * 40)) <= 2048


def test_exit_status_from_signals() -> None:
    assert exit_status(0) == (0, None)
    assert exit_status(3) == (3, None)
    assert exit_status(-15) == (143, 15)


def test_log_selection() -> None:
    data = b"a\nb\nc\n"
    assert select(data, 2, None) == b"b\nc\n"
    assert select(data, 0, None) == b""
    assert select(data, None, 3) == b"a\nb"
    assert select(data, None, None) == data


def test_since_judges_the_whole_log_by_its_last_write(tmp_path: Path) -> None:
    log = tmp_path / "main.log"
    log.write_text("old\n")
    an_hour_ago = time.time() - 3600
    os.utime(log, (an_hour_ago, an_hour_ago))
    assert _older_than_asked(log, {"sinceSeconds": ["60"]})
    assert not _older_than_asked(log, {"sinceSeconds": ["7200"]})
    assert _older_than_asked(log, {"sinceTime": ["2999-01-01T00:00:00Z"]})
    assert not _older_than_asked(log, {"sinceTime": ["2000-01-01T00:00:00Z"]})
    assert not _older_than_asked(log, {})
