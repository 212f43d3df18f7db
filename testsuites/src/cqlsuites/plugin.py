"""The pytest result plugin every suite runs under (``-p cqlsuites.plugin``).

It turns a pytest session into the SuiteResult of contracts §2: per-test counts, failures with
their messages, and operation metrics (latency histogram, throughput, errors by kind) gathered
from aiocql request listeners on the sessions it hands to tests. It also provides those
sessions as fixtures, so suites never build connections themselves and every request is counted.

Output goes where the launcher expects it: the JSON file named by ``CQLTEST_RESULT_PATH``
(local mode), or, in a pod (``--cqltest-pod`` or no result path), a ≤ 4 KiB summary to the
termination log and the full report on stdout between markers.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from cqlsuites import connect, report
from cqlsuites.catalogue import MARKERS, CatalogueError, SuiteInfo, read_suite
from cqlsuites.env import EnvError, SuiteEnv, read_env, read_report_target
from cqlsuites.stats import OpStats

if TYPE_CHECKING:
    from aiocql import AsyncCluster, AsyncSession

REPORTER_NAME = "cqlsuites-reporter"
# Live counts are for a human watching; a few updates a second is plenty and keeps suites of
# thousands of fast tests from spending their time rewriting the progress file.
PROGRESS_INTERVAL = 0.25
DEFAULT_TERMINATION_LOG = "/dev/termination-log"

# The outcome of the last session in this process, for ``python -m cqlsuites``'s exit code.
_last_outcome: str | None = None


def last_outcome() -> str | None:
    """``passed``/``failed``/``error`` of the last finished session, None if none reported."""
    return _last_outcome


def termination_log_default() -> Path:
    return Path(os.environ.get("CQLTEST_TERMINATION_LOG") or DEFAULT_TERMINATION_LOG)


# pytest exit statuses that mean the suite never ran properly, whatever the counts say.
_BROKEN_EXIT: dict[int, str] = {
    pytest.ExitCode.INTERRUPTED.value: "the test session was interrupted",
    pytest.ExitCode.INTERNAL_ERROR.value: "pytest hit an internal error",
    pytest.ExitCode.USAGE_ERROR.value: "pytest was called with invalid arguments (markers, path)",
    pytest.ExitCode.NO_TESTS_COLLECTED.value: "no tests were collected (check path and markers)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cqlsuites")
    group.addoption(
        "--cqltest-pod",
        action="store_true",
        help="pod mode: summary to the termination log, full report on stdout between markers",
    )
    group.addoption(
        "--cqltest-termination-log",
        default=str(termination_log_default()),
        help="where pod mode writes the compact summary (default: %(default)s)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # The JUnit XML is part of the result, so make pytest write it even if nobody asked.
    owns_junit = not config.option.xmlpath
    if owns_junit:
        fd, path = tempfile.mkstemp(prefix="cqlsuites-", suffix=".xml")
        os.close(fd)
        config.option.xmlpath = path
    for marker, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {meaning}")
    pod = bool(config.getoption("cqltest_pod"))
    termination_log = Path(config.getoption("cqltest_termination_log"))
    try:
        env = read_env()
        # The suite directory is pytest's rootdir (python -m cqlsuites run sets it).
        info = read_suite(config.rootpath)
        params = dict(env.params) if info is None else info.resolve(env.params)
    except (EnvError, CatalogueError) as exc:
        report_error(str(exc), read_report_target(), pod=pod, termination_log=termination_log)
        raise pytest.UsageError(str(exc)) from None
    reporter = SuiteReporter(
        env,
        info=info,
        params=params,
        pod=pod or env.result_path is None,
        termination_log=termination_log,
        junit_path=Path(config.option.xmlpath),
        owns_junit=owns_junit,
    )
    config.pluginmanager.register(reporter, REPORTER_NAME)


class SuiteReporter:
    """Counts test outcomes and operations during a session, then emits the SuiteResult."""

    def __init__(
        self,
        env: SuiteEnv,
        *,
        info: SuiteInfo | None = None,
        params: Mapping[str, Any] | None = None,
        pod: bool,
        termination_log: Path,
        junit_path: Path,
        owns_junit: bool = False,
    ) -> None:
        self.env = env
        self.info = info
        self.params: Mapping[str, Any] = dict(env.params) if params is None else params
        self.owns_junit = owns_junit
        self.pod = pod
        self.termination_log = termination_log
        self.junit_path = junit_path
        self.stats = OpStats()
        self.extra_metrics: dict[str, Any] = {}
        """Figures a suite measures itself (``suite_metrics``), merged into ``metrics``."""
        self.started_at = datetime.now(UTC)
        self.outcomes: dict[str, str] = {}
        self.failures: list[dict[str, str]] = []
        self.collection_errors = 0
        self.exitstatus: int = 0
        self.connect_error: Exception | None = None
        self.result: dict[str, Any] | None = None
        self._progress_at = -PROGRESS_INTERVAL

    def pytest_sessionstart(self) -> None:
        self.started_at = datetime.now(UTC)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors += 1
            self.failures.append(
                {"test": report.nodeid or "<collection>", "message": _message(report)}
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        current = self.outcomes.get(report.nodeid)
        if report.when == "call":
            # xfail arrives as skipped, a strict xpass as failed: pytest already decided.
            if report.skipped:
                self.outcomes[report.nodeid] = "skipped"
            elif report.failed:
                self.outcomes[report.nodeid] = "failed"
                self.failures.append({"test": report.nodeid, "message": _message(report)})
            else:
                self.outcomes[report.nodeid] = "passed"
        elif report.failed:
            # A broken fixture is an error of the test, not a failed assertion in it.
            if current in (None, "passed"):
                self.outcomes[report.nodeid] = "errors"
            self.failures.append(
                {"test": f"{report.nodeid} ({report.when})", "message": _message(report)}
            )
        elif report.skipped and report.when == "setup":
            self.outcomes[report.nodeid] = "skipped"
        if report.when == "teardown":
            self.write_progress()

    def write_progress(self) -> None:
        """Local mode: the counts so far, next to the result file, for live progress displays."""
        if self.pod or self.env.result_path is None:
            return
        now = time.monotonic()
        if now - self._progress_at < PROGRESS_INTERVAL:
            return
        self._progress_at = now
        counts = self.counts()
        partial = report.suite_result(
            suite=self.env.suite,
            attempt=self.env.attempt,
            outcome="failed" if counts.failed or counts.errors else "passed",
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            tests=counts,
            failures=self.failures,
            metrics={**self.stats.to_json(), **self.extra_metrics},
            junit_xml="",
        )
        write_atomic(progress_path(self.env.result_path), json.dumps(partial))

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self.exitstatus = int(exitstatus)

    def counts(self) -> report.TestCounts:
        counts = report.TestCounts(total=len(self.outcomes))
        for outcome in self.outcomes.values():
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        counts.errors += self.collection_errors
        return counts

    def outcome(self, counts: report.TestCounts) -> str:
        if self.exitstatus in _BROKEN_EXIT or self.collection_errors:
            return "error"
        return "failed" if counts.failed or counts.errors else "passed"

    def build_result(self) -> dict[str, Any]:
        counts = self.counts()
        outcome = self.outcome(counts)
        failures = list(self.failures)
        broken = _BROKEN_EXIT.get(self.exitstatus)
        if broken is not None:
            failures.append({"test": "<session>", "message": broken})
        return report.suite_result(
            suite=self.env.suite,
            attempt=self.env.attempt,
            outcome=outcome,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            tests=counts,
            failures=failures,
            metrics={**self.stats.to_json(), **self.extra_metrics},
            junit_xml=_read(self.junit_path),
        )

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        global _last_outcome
        self.result = self.build_result()
        if self.owns_junit:
            self.junit_path.unlink(missing_ok=True)
        _last_outcome = self.result["outcome"]
        emit(self.result, self.env, pod=self.pod, termination_log=self.termination_log)


def report_error(message: str, env: SuiteEnv, *, pod: bool, termination_log: Path) -> None:
    """Emit an ``error`` SuiteResult for a suite that could not run at all."""
    global _last_outcome
    now = datetime.now(UTC)
    result = report.suite_result(
        suite=env.suite,
        attempt=env.attempt,
        outcome="error",
        started_at=now,
        finished_at=now,
        tests=report.TestCounts(),
        failures=[{"test": "<suite>", "message": message}],
        metrics=OpStats().to_json(),
        junit_xml="",
    )
    _last_outcome = "error"
    emit(result, env, pod=pod or env.result_path is None, termination_log=termination_log)


def emit(result: dict[str, Any], env: SuiteEnv, *, pod: bool, termination_log: Path) -> None:
    """Write ``result`` where the launcher reads it (file locally; termination log + stdout)."""
    if not pod and env.result_path is not None:
        write_atomic(env.result_path, json.dumps(result, indent=2))
        return
    try:
        termination_log.write_text(report.compact_summary(result), encoding="utf-8")
    except OSError as exc:
        print(f"cqlsuites: cannot write the summary to {termination_log}: {exc}", file=sys.stderr)
    sys.stdout.write(report.full_report_block(result))
    sys.stdout.flush()


def progress_path(result_path: Path) -> Path:
    """Where a running suite keeps its counts so far: beside the result, ``.progress`` added."""
    return result_path.with_name(result_path.name + ".progress")


def write_atomic(path: Path, text: str) -> None:
    """Write via a rename so a reader never sees half a document, even if we are killed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _message(rep: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = rep.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    lines = [line for line in str(longrepr).splitlines() if line.strip()]
    return lines[-1] if lines else "unknown failure"


# DDL waits for schema agreement across the cluster; on a busy 2-core machine that takes seconds.
DDL_TIMEOUT = 60.0


@pytest.fixture(scope="session")
def cqlsuites_reporter(pytestconfig: pytest.Config) -> SuiteReporter:
    reporter = pytestconfig.pluginmanager.get_plugin(REPORTER_NAME)
    assert isinstance(reporter, SuiteReporter), "cqlsuites.plugin is not configured"
    return reporter


@pytest.fixture(scope="session")
def suite_env(cqlsuites_reporter: SuiteReporter) -> SuiteEnv:
    """The parsed environment contract of this suite process."""
    return cqlsuites_reporter.env


@pytest.fixture(scope="session")
def suite_params(cqlsuites_reporter: SuiteReporter) -> Mapping[str, Any]:
    """The TestRun entry's ``params`` over the ``suite.yaml`` defaults, coerced to their types.

    Durations are float seconds. A suite without a ``suite.yaml`` gets the params as given.
    """
    return cqlsuites_reporter.params


@pytest.fixture(scope="session")
def suite_metrics(cqlsuites_reporter: SuiteReporter) -> dict[str, Any]:
    """Where a suite puts figures it measures itself (e.g. ``lostWrites``): they join the
    result's ``metrics``, next to the request counts, for thresholds and the status."""
    return cqlsuites_reporter.extra_metrics


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cql_cluster(
    suite_env: SuiteEnv, suite_params: Mapping[str, Any]
) -> AsyncIterator[AsyncCluster]:
    """The aiocql cluster for the contact points, credentials and CA the launcher gave.

    A suite that declares a ``consistency`` param runs every request at it by default, so a
    read sees the write before it whatever the replication factor.
    """
    async with connect.new_cluster(suite_env) as cluster:
        level = suite_params.get("consistency")
        if isinstance(level, str):
            cluster.driver_cluster.profile_manager.default.consistency_level = (
                connect.consistency_level(level)
            )
        yield cluster


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cql_session(
    cql_cluster: AsyncCluster, cqlsuites_reporter: SuiteReporter
) -> AsyncIterator[AsyncSession]:
    """A session without a keyspace; every request on it counts in the suite's metrics."""
    refused = cqlsuites_reporter.connect_error
    if refused is not None:
        # pytest sets a failed session fixture up again for every test: with a wrong password
        # a suite of hundreds of tests would reconnect hundreds of times to hear the same no.
        raise refused.with_traceback(None)
    try:
        session = await connect.connect(cql_cluster, cqlsuites_reporter.stats)
    except Exception as exc:
        cqlsuites_reporter.connect_error = exc
        raise
    async with session:
        yield session


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def keyspace(
    cql_session: AsyncSession, cql_cluster: AsyncCluster, suite_env: SuiteEnv
) -> AsyncIterator[str]:
    """The suite's own keyspace, created fresh with the run's replication, dropped at the end."""
    name = suite_env.keyspace
    # A killed earlier attempt may have left it behind; every attempt starts clean.
    await cql_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)
    replication = connect.replication_for(suite_env, cql_cluster)
    await cql_session.execute(connect.keyspace_cql(name, replication), timeout=DDL_TIMEOUT)
    yield name
    await cql_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cql(cql_session: AsyncSession, keyspace: str) -> AsyncSession:
    """The session most tests want: connected, instrumented, using the suite keyspace."""
    await cql_session.set_keyspace(keyspace)
    return cql_session
