"""Suite attempts as local subprocesses: environment, launch, stop, and reading the outcome.

Each attempt is ``python -m cqlsuites run <suite>`` (or the entry's own ``command``) in its own
process group, so stopping it at its timeout or on Ctrl-C also stops anything it spawned and a
terminal's Ctrl-C never reaches it directly: the backend decides when suites stop. The attempt
reports through the SuiteResult file of contracts §2; whatever goes wrong (a crash, a kill, a
corrupt file) becomes an attempt in state Error with a reason that quotes the stderr tail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from cqltest.engine import AttemptObserved, AttemptState
from cqltest.engine.verdict import NO_RESULT, exit_verdict
from cqltest.model import SuiteResult, SuiteSpec
from cqltest.render.environment import Connection, suite_variables

# Time a suite gets to write its result after SIGTERM before the group is killed.
STOP_GRACE_SECONDS = 5.0
_TAIL_LINES = 15


def suite_environment(
    connection: Connection,
    *,
    run: str,
    suite: SuiteSpec,
    attempt: int,
    result_path: Path,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The process environment of one attempt: the caller's, minus stale CQLTEST_*, plus §3."""
    inherited = dict((os.environ if base is None else base).items())
    env = {k: v for k, v in inherited.items() if not k.startswith("CQLTEST_")}
    env.update(suite_variables(connection, run=run, suite=suite, attempt=attempt))
    env["CQLTEST_RESULT_PATH"] = str(result_path)
    # Suite output goes to a log file; unbuffered keeps the tail useful after a kill.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def suite_command(suite: SuiteSpec, manifest_dir: Path) -> list[str]:
    """The argv of an attempt: the entry's own command, or the cqlsuites entrypoint."""
    if suite.command is not None:
        return list(suite.command)
    argv = [sys.executable, "-m", "cqlsuites", "run"]
    if suite.path is not None:
        argv += [suite.name, "--path", str((manifest_dir / suite.path).resolve())]
    else:
        argv.append(suite.builtin_suite or suite.name)
    if suite.markers:
        argv += ["--markers", suite.markers]
    return argv


class SuiteProcess:
    """One running attempt; ``on_exit`` is called from a waiter thread when it ends."""

    def __init__(
        self,
        *,
        name: str,
        attempt: int,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        child: str,
        on_exit: Callable[[], None],
        own_command: bool = False,
    ) -> None:
        self.name = name
        self.own_command = own_command
        self.attempt = attempt
        self.result_path = workdir / f"{child}.result.json"
        self.stdout_path = workdir / f"{child}.out"
        self.stderr_path = workdir / f"{child}.err"
        env = {**env, "CQLTEST_RESULT_PATH": str(self.result_path)}
        # The suite keeps its counts so far here while it runs (cqlsuites.plugin.progress_path).
        self.progress_path = self.result_path.with_name(self.result_path.name + ".progress")
        # A result left by an earlier run with the same name must never be mistaken for ours.
        self.result_path.unlink(missing_ok=True)
        self.progress_path.unlink(missing_ok=True)
        self.started_at = datetime.now(UTC)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                argv,
                env=env,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.finished_at: datetime | None = None
        self._waiter = threading.Thread(
            target=self._wait, args=(on_exit,), name=f"wait-{child}", daemon=True
        )
        self._waiter.start()

    def _wait(self, on_exit: Callable[[], None]) -> None:
        self.process.wait()
        self.finished_at = datetime.now(UTC)
        on_exit()

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> bool:
        return self.finished_at is not None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group (the suite writes what it has), then SIGKILL after ``grace``.

        The whole group is killed at the end even if the leader exited, so nothing it spawned
        outlives the attempt.
        """
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        self._waiter.join(timeout=5)
        if self.finished_at is None:
            self.finished_at = datetime.now(UTC)

    def terminate(self) -> None:
        """Ask the attempt to stop (SIGTERM to its group); :meth:`stop` finishes the job."""
        self._signal_group(signal.SIGTERM)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def observe(
        self, state: AttemptState | None = None, reason: str | None = None
    ) -> AttemptObserved:
        """This attempt as the engine sees it; ``state`` overrides the exit-derived state."""
        if not self.exited() and state is None:
            return AttemptObserved(
                self.attempt, "Running", started_at=self.started_at, result=self.read_progress()
            )
        result, problem = self.read_result()
        if state is None:
            state, reason = self._verdict(result, problem)
        return AttemptObserved(
            attempt=self.attempt,
            state=state,
            started_at=self.started_at,
            finished_at=self.finished_at or datetime.now(UTC),
            result=result,
            reason=reason,
        )

    def read_progress(self) -> SuiteResult | None:
        """The counts so far of a running attempt, if it reports them (best effort)."""
        try:
            return SuiteResult.model_validate_json(self.progress_path.read_bytes())
        except (OSError, ValidationError):
            return None

    def read_result(self) -> tuple[SuiteResult | None, str | None]:
        """The SuiteResult the attempt wrote, or why there is none."""
        try:
            text = self.result_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, NO_RESULT
        except OSError as exc:
            return None, f"result {self.result_path} unreadable: {exc.strerror}"
        try:
            return SuiteResult.model_validate_json(text), None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "document"
            return None, f"wrote a corrupt result ({where}: {first['msg']})"

    def _verdict(
        self, result: SuiteResult | None, problem: str | None
    ) -> tuple[AttemptState, str | None]:
        return exit_verdict(
            self.process.returncode,
            result,
            own_command=self.own_command,
            tail=self._tail(),
            problem=problem or NO_RESULT,
        )

    def _tail(self) -> str:
        try:
            lines = self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        tail = [line for line in lines if line.strip()][-_TAIL_LINES:]
        return "; stderr tail:\n" + "\n".join(tail) if tail else "; stderr was empty"
