"""The local backend's loop with real subprocesses and a stand-in cluster handle.

Suites here are bring-your-own ``command`` entries (plain Python one-liners), so the loop's
process handling — exit codes, result files, timeouts, cancellation, teardown policy — is
exercised for real in seconds, without Cassandra. The Cassandra-backed runs are in
``tests/cassandra/test_run_*.py``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from cqltest.engine import child_name
from cqltest.errors import InputError
from cqltest.local.backend import LocalRun, RunOptions
from cqltest.local.handles import free_cluster_name, local_heap
from cqltest.local.launcher import suite_command, suite_environment
from cqltest.model import SuiteSpec, TestRunStatus, parse_testrun
from cqltest.render.environment import Connection, keyspace_name


class FakeCluster:
    """Stands in for a LocalCluster: ready at once, records teardowns and releases."""

    name: str | None = "fake"

    def __init__(self) -> None:
        self.teardowns = 0
        self.releases = 0

    def start(self, timeout: float, on_event: Any) -> Connection:
        on_event("fake node: ready")
        return Connection(("127.0.0.1",), local_dc="dc1", topology={"dc1": {"nodes": 1}})

    def teardown(self) -> None:
        self.teardowns += 1

    def release(self) -> None:
        self.releases += 1


def _run(
    tmp_path: Path, suites: list[dict[str, Any]], *, teardown: str = "Always", **spec: Any
) -> tuple[LocalRun, FakeCluster]:
    doc = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "loop"},
        "spec": {
            "cluster": {"datacenters": [{"name": "dc1", "size": 1}], "teardown": teardown},
            "suites": suites,
            **spec,
        },
    }
    fake = FakeCluster()
    run = LocalRun(
        parse_testrun(doc, known_suites={"smoke"}),
        tmp_path / "manifest.yaml",
        options=RunOptions(workdir=tmp_path / "work", handle_signals=False, poll_seconds=0.05),
        handle=fake,
    )
    return run, fake


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _suites(status: TestRunStatus) -> dict[str, Any]:
    return {s.name: s for s in status.suites}


def test_command_exit_codes_decide_and_teardown_runs(tmp_path: Path) -> None:
    run, fake = _run(
        tmp_path,
        [
            {"name": "ok", "command": _py("print('fine')")},
            {
                "name": "bad",
                "command": _py("import sys; sys.stderr.write('kaput\\n'); sys.exit(3)"),
            },
            {"name": "after", "command": _py("pass"), "dependsOn": ["bad"]},
        ],
        parallelism=2,
    )
    status = run.execute()
    suites = _suites(status)
    assert status.phase == "Failed"
    assert suites["ok"].phase == "Passed"
    assert suites["bad"].phase == "Failed"
    assert "command exited with code 3" in (suites["bad"].reason or "")
    assert "kaput" in (suites["bad"].reason or "")
    assert suites["after"].phase == "Skipped"
    assert fake.teardowns == 1
    assert fake.releases == 0
    assert status.cluster is not None
    assert status.cluster.state == "TornDown"


def test_teardown_on_success_keeps_a_failed_run(tmp_path: Path) -> None:
    run, fake = _run(tmp_path, [{"name": "bad", "command": _py("raise SystemExit(1)")}],
                     teardown="OnSuccess")  # fmt: skip
    assert run.execute().phase == "Failed"
    assert fake.teardowns == 0
    assert fake.releases == 1  # kept: no longer reaped when this process exits


def test_environment_contract_reaches_the_suite(tmp_path: Path) -> None:
    dump = tmp_path / "env.txt"
    code = (
        f"import json, os, pathlib; pathlib.Path({str(dump)!r}).write_text(json.dumps("
        "{k: v for k, v in os.environ.items() if k.startswith('CQLTEST_')}))"
    )
    run, _ = _run(tmp_path, [{"name": "env-check", "command": _py(code), "params": {"n": 1}}])
    assert run.execute().phase == "Succeeded"
    env = json.loads(dump.read_text())
    assert env["CQLTEST_CONTACT_POINTS"] == "127.0.0.1"
    assert env["CQLTEST_LOCAL_DC"] == "dc1"
    assert env["CQLTEST_KEYSPACE"] == "loop_env_check"
    assert env["CQLTEST_SUITE"] == "env-check"
    assert env["CQLTEST_ATTEMPT"] == "1"
    assert env["CQLTEST_PARAMS"] == '{"n": 1}'
    assert env["CQLTEST_RUN"] == "loop"
    assert env["CQLTEST_RESULT_PATH"].endswith(f"{child_name('loop', 'env-check', 1)}.result.json")


def test_corrupt_result_is_an_error_with_stderr_tail(tmp_path: Path) -> None:
    code = (
        "import os, sys; open(os.environ['CQLTEST_RESULT_PATH'], 'w').write('{not json');"
        "sys.stderr.write('boom on stderr\\n'); sys.exit(2)"
    )
    run, _ = _run(tmp_path, [{"name": "corrupt", "suite": "smoke", "command": None}])
    # A built-in suite entry, but we swap in a command that writes garbage as its result.
    run.spec = run.spec.model_copy(
        update={"suites": [SuiteSpec(name="corrupt", command=_py(code))]}
    )
    status = run.execute()
    [suite] = status.suites
    assert suite.phase == "Error"
    assert "corrupt result" in (suite.reason or "")


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    # The suite spawns a grandchild; both must die at the timeout.
    code = (
        "import os, subprocess, sys, time, pathlib;"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']);"
        f"pathlib.Path({str(pidfile)!r}).write_text(f'{{os.getpid()}} {{c.pid}}');"
        "time.sleep(300)"
    )
    run, _ = _run(tmp_path, [{"name": "slow", "command": _py(code), "timeout": "2s"}])
    started = time.monotonic()
    status = run.execute()
    assert time.monotonic() - started < 30
    [slow] = status.suites
    assert slow.phase == "TimedOut"
    assert "exceeded its timeout 2s" in (slow.reason or "")
    for pid in map(int, pidfile.read_text().split()):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_interrupt_cancels_running_suites_and_reports_partial_status(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(300)"
    run, fake = _run(
        tmp_path,
        [
            {"name": "first", "command": _py("pass")},
            {"name": "long", "command": _py(code), "dependsOn": ["first"]},
            {"name": "never", "command": _py("pass"), "dependsOn": ["long"]},
        ],
    )

    def interrupt_when_started() -> None:
        while not marker.exists():
            time.sleep(0.05)
        run.interrupt()

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    status = run.execute()
    suites = _suites(status)
    assert status.phase == "Failed"
    assert status.reason == "Interrupted"
    assert suites["first"].phase == "Passed"
    assert suites["long"].phase in ("Failed", "Error")
    assert suites["never"].phase == "Skipped"
    assert fake.teardowns == 1


def test_keep_cluster_overrides_policy(tmp_path: Path) -> None:
    run, fake = _run(tmp_path, [{"name": "ok", "command": _py("pass")}])
    run.spec = run.spec.model_copy(
        update={"cluster": run.spec.cluster.model_copy(update={"teardown": "Never"})}
    )
    assert run.execute().phase == "Succeeded"
    assert fake.teardowns == 0
    assert fake.releases == 1


def test_pure_helpers() -> None:
    assert keyspace_name("nightly", "data-types") == "nightly_data_types"
    assert keyspace_name("9x", "s") == "r_9x_s"
    long = keyspace_name("r" * 60, "suite")
    assert len(long) == 48
    assert long != keyspace_name("r" * 60, "other")
    assert local_heap(None) == "256M"
    assert local_heap("512Mi") == "512M"
    assert local_heap("1Gi") == "1G"
    with pytest.raises(InputError, match=r"resources\.heap='300k'"):
        local_heap("300k")
    assert free_cluster_name("Smoke.Run", ["smoke-run"]) == "smoke-run-2"
    assert free_cluster_name("a", []) == "a"
    manifest_dir = Path("/m")
    assert suite_command(SuiteSpec(name="x", suite="smoke", markers="not slow"), manifest_dir)[
        -4:
    ] == ["run", "smoke", "--markers", "not slow"]
    assert suite_command(SuiteSpec(name="mine", path="suites/mine"), manifest_dir)[-3:] == [
        "mine",
        "--path",
        "/m/suites/mine",
    ]
    env = suite_environment(
        Connection(("a", "b"), port=9043, username="u", password="p", ca_path="/ca.pem"),
        run="r",
        suite=SuiteSpec(name="s"),
        attempt=2,
        result_path=Path("/res.json"),
        base={"CQLTEST_STALE": "x", "PATH": os.environ.get("PATH", "")},
    )
    assert "CQLTEST_STALE" not in env
    assert env["CQLTEST_CONTACT_POINTS"] == "a,b"
    assert env["CQLTEST_PORT"] == "9043"
    assert (env["CQLTEST_USERNAME"], env["CQLTEST_PASSWORD"]) == ("u", "p")
    assert env["CQLTEST_TLS_CA"] == "/ca.pem"
    assert "CQLTEST_LOCAL_DC" not in env


def test_running_suite_reports_counts_so_far(tmp_path: Path) -> None:
    partial = {
        "suite": "live",
        "attempt": 1,
        "outcome": "passed",
        "tests": {"total": 3, "passed": 3},
    }
    code = (
        "import os, time, pathlib;"
        "p = pathlib.Path(os.environ['CQLTEST_RESULT_PATH'] + '.progress');"
        f"p.write_text({json.dumps(partial)!r}); time.sleep(1.5)"
    )
    seen: list[TestRunStatus] = []
    run, _ = _run(tmp_path, [{"name": "live", "command": _py(code)}])
    run.on_status = seen.append
    assert run.execute().phase == "Succeeded"
    live = [
        s.suites[0].tests.total
        for s in seen
        if s.suites[0].phase == "Running" and s.suites[0].tests is not None
    ]
    assert 3 in live, "the counts a running suite reported never reached the status"
