"""``cqltest run FILE``: run a TestRun manifest in local mode, live, and report.

Progress is for people and goes to stderr (a live table on a terminal, one line per change
otherwise); the report is for people *or* machines and goes to stdout, so ``--output json``
pipes cleanly into ``jq``. The exit code is the verdict: 0 Succeeded, 1 anything else, 2 bad
input (nothing provisioned).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cqltest.cli.options import output_option
from cqltest.errors import ManifestError
from cqltest.model import SuiteResult, TestRun, TestRunStatus, load_testrun

_FILE = click.Path(dir_okay=False, path_type=Path)
_PHASE_STYLE = {
    "Passed": "green",
    "Succeeded": "green",
    "Running": "cyan",
    "Provisioning": "cyan",
    "Pending": "dim",
    "Skipped": "yellow",
    "Failed": "red",
    "TimedOut": "red",
    "Error": "red",
    "Invalid": "red",
}


def status_document(status: TestRunStatus) -> dict[str, Any]:
    """The status as users and the CRD see it: camelCase, no nulls."""
    doc: dict[str, Any] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return doc


@click.command()
@click.argument("file", type=_FILE)
@output_option("Format of the final report on stdout.")
@click.option("--junit", type=_FILE, help="Write JUnit XML (one testsuite per suite) here.")
@click.option("--status-file", type=_FILE, help="Write the final status document (JSON) here.")
@click.option("--metrics", type=_FILE, help="Write Prometheus text-format metrics here.")
@click.option(
    "--keep-cluster",
    is_flag=True,
    help="Never tear the provisioned cluster down, whatever the policy.",
)
def run(
    file: Path,
    output: str,
    junit: Path | None,
    status_file: Path | None,
    metrics: Path | None,
    keep_cluster: bool,
) -> None:
    """Run a TestRun manifest on this machine with real Cassandra, and report."""
    from cqltest.engine import invalid_status
    from cqltest.local.backend import LocalRun, RunOptions

    try:
        testrun = load_testrun(file)
    except ManifestError as error:
        status = invalid_status(error, datetime.now(UTC))
        _write_outputs(status, None, {}, output, status_file=status_file, junit=None, metrics=None)
        raise
    progress = Progress(testrun)
    local = LocalRun(
        testrun, file, options=RunOptions(keep_cluster=keep_cluster), on_status=progress.update
    )
    with progress:
        try:
            status = local.execute()
        except KeyboardInterrupt:
            # A second Ctrl-C: suites are already stopped; report what we have.
            if local.status is None:
                raise
            status = local.status
    _write_outputs(
        status, testrun, local.results(), output, status_file=status_file, junit=junit,
        metrics=metrics,
    )  # fmt: skip
    progress.console.print(f"suite logs and results: {local.workdir}", style="dim", soft_wrap=True)
    sys.exit(0 if status.phase == "Succeeded" else 1)


def _write_outputs(
    status: TestRunStatus,
    testrun: TestRun | None,
    results: dict[str, SuiteResult],
    output: str,
    *,
    status_file: Path | None,
    junit: Path | None,
    metrics: Path | None,
) -> None:
    if status_file is not None:
        write_file(status_file, json.dumps(status_document(status), indent=2) + "\n")
    if junit is not None and testrun is not None:
        from cqltest.render.junit import render_junit

        write_file(junit, render_junit(testrun, status, results))
    if metrics is not None and testrun is not None:
        from cqltest.metrics import write_metrics

        write_metrics(metrics, testrun.name, status)
    print_report(testrun.name if testrun is not None else None, status, output)


def print_report(name: str | None, status: TestRunStatus, output: str) -> None:
    """The final report on stdout: the status document (json, yaml) or :func:`report` (table)."""
    if output == "json":
        click.echo(json.dumps(status_document(status), indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(status_document(status), sort_keys=False), nl=False)
    elif name is not None:
        Console(highlight=False).print(report(name, status))
    else:
        Console(highlight=False).print(Text.assemble("TestRun ", _styled(status.phase)))


def write_file(path: Path, text: str) -> None:
    """Write a report file (JUnit, status), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _styled(phase: str) -> Text:
    return Text(phase, style=_PHASE_STYLE.get(phase, ""))


def suites_table(status: TestRunStatus, *, final: bool) -> Table:
    """One row per suite: wave, phase, attempts, tests, latency, duration.

    Reasons are not a column: a stderr tail or a long message would wrap every row into an
    unreadable block, so :func:`report` prints them whole under the table."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("WAVE", "SUITE", "PHASE", "TRY", "TESTS", "FAILED", "OPS", "P99 MS", "TIME"):
        table.add_column(column, justify="right" if column not in ("SUITE", "PHASE") else "left")
    for suite in sorted(status.suites, key=lambda s: s.wave):
        tests = suite.tests
        m = suite.metrics
        p99 = m.latency_ms.p99 if m is not None and m.latency_ms is not None else None
        table.add_row(
            str(suite.wave),
            suite.name,
            _styled(suite.phase),
            str(suite.attempts) if suite.attempts else "-",
            f"{tests.passed}/{tests.total}" if tests else "-",
            str(tests.failed + tests.errors) if tests else "-",
            str(m.operations) if m is not None and m.operations is not None else "-",
            f"{p99:.1f}" if p99 is not None else "-",
            f"{suite.duration_seconds:.1f}s" if suite.duration_seconds is not None else "-",
        )
    return table


def _headline(name: str, status: TestRunStatus) -> Text:
    text = Text.assemble(("TestRun ", "bold"), (name, "bold"), "  ", _styled(status.phase))
    if status.duration:
        text.append(f"  {status.duration}")
    if status.cluster is not None and status.cluster.name:
        text.append(f"  cluster {status.cluster.name} ({status.cluster.state})", style="dim")
    if status.message:
        text.append(f"\n{status.message}")
    cluster = status.cluster
    if cluster is not None and cluster.state == "Provisioning" and cluster.message:
        text.append(f"\n{cluster.message}", style="dim")
    return text


def report(name: str, status: TestRunStatus) -> Group:
    """The final report: headline, the suites table, totals and each failure's message."""
    parts: list[Any] = [_headline(name, status), Text(""), suites_table(status, final=True)]
    if status.summary is not None:
        t = status.summary.tests
        parts.append(
            Text(
                f"\nsuites passed {status.summary.progress}; tests: {t.total} total, "
                f"{t.passed} passed, {t.failed} failed, {t.errors} errors, {t.skipped} skipped"
            )
        )
    reasons = [s for s in sorted(status.suites, key=lambda s: s.wave) if s.reason]
    if reasons:
        parts.append(Text("\nReasons:", style="bold"))
        for with_reason in reasons:
            name, reason = with_reason.name, with_reason.reason or ""
            parts.append(Text.assemble((f"  {name}: ", "bold"), reason))
    failures = [(s.name, f) for s in status.suites for f in s.failures]
    if failures:
        parts.append(Text("\nFailures:", style="bold red"))
        for suite, failure in failures:
            first = failure.message.splitlines()[0] if failure.message else ""
            parts.append(Text(f"  {suite}: {failure.test}: {first}"))
    return Group(*parts)


class Progress:
    """Live progress on stderr: a redrawn table on a terminal, change lines otherwise."""

    def __init__(self, testrun: TestRun) -> None:
        self.name = testrun.name
        self.console = Console(stderr=True, highlight=False, markup=False)
        self.live: Live | None = None
        self._seen: dict[str, str] = {}

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self.live = Live(console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def update(self, status: TestRunStatus) -> None:
        if self.live is not None:
            waves = "  ".join(f"wave {i + 1}: {', '.join(w)}" for i, w in enumerate(status.waves))
            self.live.update(
                Group(_headline(self.name, status), Text(waves, style="dim"),
                      suites_table(status, final=False))
            )  # fmt: skip
            return
        self._lines(status)

    def _lines(self, status: TestRunStatus) -> None:
        # Suites first, so the run's verdict is the last line.
        keys: dict[str, str] = {s.name: s.phase for s in status.suites}
        keys[""] = status.phase
        for key, phase in keys.items():
            if self._seen.get(key) == phase:
                continue
            self._seen[key] = phase
            if key == "":
                self.console.print(f"[{self.name}] {phase}: {status.message}", soft_wrap=True)
            else:
                suite = next(s for s in status.suites if s.name == key)
                detail = f" ({suite.reason})" if suite.reason else ""
                self.console.print(f"[{self.name}] suite {key}: {phase}{detail}", soft_wrap=True)
