"""``python -m cqlsuites run`` end to end on tiny suites that need no cluster.

The suites here use the real plugin and real pytest in a subprocess, exactly as the local
backend launches them; the only fake is at the aiocql listener boundary, where canned
RequestEvents stand in for a cluster's replies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from cqlsuites import report

TINY = """
import pytest
from aiocql.listeners import RequestEvent
from cqlsuites.connect import stats_listener


@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")


def test_pass():
    assert True


def test_fail():
    assert 1 + 1 == 3, "arithmetic is broken"


def test_error(broken):
    pass


def test_skip():
    pytest.skip("not today")


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False


@pytest.mark.slow
def test_slow():
    pass


def test_records_operations(cqlsuites_reporter):
    listen = stats_listener(cqlsuites_reporter.stats)
    for i in range(100):
        ok = i % 10 != 0
        listen(RequestEvent(kind="execute", outcome="ok" if ok else "error", latency=0.002,
                            rows=1, error=None, error_kind=None if ok else "WriteTimeout",
                            query="INSERT"))
    listen(RequestEvent(kind="prepare", outcome="ok", latency=0.5, rows=0, error=None,
                        error_kind=None, query="INSERT"))
    listen(RequestEvent(kind="execute", outcome="ok", latency=0.9, rows=0, error=None,
                        error_kind=None, query="  create TABLE t (k int PRIMARY KEY)"))


async def test_async_runs(suite_params):
    assert suite_params == {"x": 1}
"""


def _run(
    tmp_path: Path, *args: str, files: dict[str, str] | None = None, **env: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir(exist_ok=True)
    for name, text in (files or {"test_tiny.py": TINY}).items():
        (suite_dir / name).write_text(textwrap.dedent(text))
    result_path = tmp_path / "result.json"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")},
        "CQLTEST_SUITE": "tiny",
        "CQLTEST_ATTEMPT": "3",
        "CQLTEST_PARAMS": '{"x": 1}',
        "CQLTEST_RESULT_PATH": str(result_path),
        **env,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cqlsuites", "run", "tiny", "--path", str(suite_dir), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc, result_path


def _load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    assert isinstance(doc, dict)
    return doc


def test_result_file_counts_failures_and_metrics(tmp_path: Path) -> None:
    proc, path = _run(tmp_path)
    assert proc.returncode == 1, proc.stderr
    doc = _load(path)
    assert doc["suite"] == "tiny"
    assert doc["attempt"] == 3
    assert doc["outcome"] == "failed"
    assert doc["tests"] == {"total": 8, "passed": 4, "failed": 1, "skipped": 2, "errors": 1}
    messages = {f["test"]: f["message"] for f in doc["failures"]}
    assert "arithmetic is broken" in messages["test_tiny.py::test_fail"]
    assert "RuntimeError: fixture exploded" in messages["test_tiny.py::test_error (setup)"]
    metrics = doc["metrics"]
    assert metrics["operations"] == 100  # prepares and DDL are not data operations
    assert metrics["errorRate"] == 0.1
    assert metrics["errorsByKind"] == {"WriteTimeout": 10}
    assert 1.9 <= metrics["latencyMs"]["p50"] <= 2.03
    assert doc["junitXml"].startswith("<?xml")
    progress = _load(path.with_name(path.name + ".progress"))  # a live update (throttled)
    assert 1 <= progress["tests"]["total"] <= doc["tests"]["total"]
    assert progress["suite"] == "tiny"
    assert 'name="test_fail"' in doc["junitXml"]
    assert doc["durationSeconds"] >= 0


def test_markers_select_tests_and_passing_suite_exits_zero(tmp_path: Path) -> None:
    proc, path = _run(tmp_path, "--markers", "slow")
    assert proc.returncode == 0, proc.stderr
    doc = _load(path)
    assert doc["outcome"] == "passed"
    assert doc["tests"] == {"total": 1, "passed": 1, "failed": 0, "skipped": 0, "errors": 0}


def test_markers_selecting_nothing_is_an_error(tmp_path: Path) -> None:
    proc, path = _run(tmp_path, "--markers", "nonexistent_marker")
    assert proc.returncode == 2
    doc = _load(path)
    assert doc["outcome"] == "error"
    assert any("no tests were collected" in f["message"] for f in doc["failures"])


def test_collection_error_is_an_error(tmp_path: Path) -> None:
    proc, path = _run(tmp_path, files={"test_broken.py": "import nonexistent_module_xyz\n"})
    assert proc.returncode == 2
    doc = _load(path)
    assert doc["outcome"] == "error"
    assert "nonexistent_module_xyz" in doc["failures"][0]["message"]


def test_unknown_builtin_suite_reports_error(tmp_path: Path) -> None:
    result_path = tmp_path / "r.json"
    env = {**os.environ, "CQLTEST_RESULT_PATH": str(result_path), "CQLTEST_SUITE": "nope"}
    proc = subprocess.run(
        [sys.executable, "-m", "cqlsuites", "run", "nope"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    doc = _load(result_path)
    assert doc["outcome"] == "error"
    assert "built-in suite 'nope' is not a directory" in doc["failures"][0]["message"]
    assert "smoke" in doc["failures"][0]["message"]


def test_bad_environment_reports_error_naming_variable(tmp_path: Path) -> None:
    proc, path = _run(tmp_path, CQLTEST_PORT="ninety")
    assert proc.returncode == 2
    doc = _load(path)
    assert doc["outcome"] == "error"
    assert "CQLTEST_PORT='ninety' is not an integer" in doc["failures"][0]["message"]


def test_pod_mode_summary_and_stdout_report(tmp_path: Path) -> None:
    many = "\n".join(
        f"def test_f{i}():\n    assert False, 'x' * 3000 + ' failure {i}'\n" for i in range(60)
    )
    log = tmp_path / "termination-log"
    proc, path = _run(
        tmp_path, "--pod", files={"test_many.py": many}, CQLTEST_TERMINATION_LOG=str(log)
    )
    assert proc.returncode == 1, proc.stderr
    assert not path.exists(), "pod mode must not write the local result file"
    summary_text = log.read_text()
    assert len(summary_text.encode()) <= report.TERMINATION_LIMIT
    summary = json.loads(summary_text)
    assert summary["tests"]["failed"] == 60
    assert "junitXml" not in summary
    full = report.extract_report(proc.stdout)
    assert full is not None
    assert len(full["failures"]) == 60
    assert full["junitXml"].count("<testcase") == 60


def test_plugin_works_under_plain_pytest(tmp_path: Path) -> None:
    """``pytest -p cqlsuites.plugin`` (no entrypoint) still writes a full result with JUnit."""
    suite_dir = tmp_path / "plain"
    suite_dir.mkdir()
    (suite_dir / "test_plain.py").write_text("def test_ok():\n    pass\n")
    result_path = tmp_path / "plain.json"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")},
        "CQLTEST_SUITE": "plain",
        "CQLTEST_RESULT_PATH": str(result_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "cqlsuites.plugin", "-p", "no:cacheprovider",
         "--rootdir", str(suite_dir), str(suite_dir)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = _load(result_path)
    assert doc["outcome"] == "passed"
    assert 'name="test_ok"' in doc["junitXml"]
