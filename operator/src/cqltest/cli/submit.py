"""``cqltest submit``, ``status`` and ``logs``: TestRuns on Kubernetes, from the command line.

``submit`` checks the manifest as ``cqltest validate`` does, and for what only local mode can
do (a path suite, NodePause) as the operator does (bad input: exit 2, nothing applied). It
server-side applies it, and with ``--wait`` follows the run through a watch with the progress
display and final report of ``cqltest run``; the exit code is the verdict as there
(0 Succeeded, 1 Failed or Error, 2 Invalid). The run belongs to the operator: a ``--timeout``
or Ctrl-C stops the waiting, never the run. ``status`` prints a run's report; ``logs`` prints
the log of one attempt's test pod.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from cqltest.cli.options import kubeconfig_option, output_option
from cqltest.cli.run import Progress, print_report, write_file
from cqltest.engine.names import (
    LABEL_ATTEMPT,
    LABEL_COMPONENT,
    LABEL_SUITE,
    LABEL_TESTRUN,
    label_value,
    report_name,
)
from cqltest.errors import CqltestError, InputError, ManifestError
from cqltest.model import TERMINAL_RUN_PHASES, TestRunStatus, load_testrun, parse_duration
from cqltest.model.validation import operator_problems
from cqltest.render.junit import render_junit
from cqltest.render.report import JUNIT_KEY, TRUNCATED_KEY, report_key, report_results

_FILE = click.Path(dir_okay=False, path_type=Path)
REPORT_WAIT = 15.0
"""Seconds to wait, after the run ends, for the operator to store the last reports."""
WAITING = "waiting for the operator to pick the run up"


# ------------------------------------------------------------------------------- pure parts


def resolve_namespace(manifest: str | None, flag: str | None, default: str) -> str:
    """The namespace to submit to: ``--namespace``, else the manifest's, else the context's.

    A manifest naming another namespace than ``--namespace`` is refused, as kubectl does."""
    if flag and manifest and flag != manifest:
        raise InputError(
            f"the manifest's namespace {manifest!r} does not match --namespace {flag!r}"
        )
    return flag or manifest or default


def status_of(obj: Mapping[str, Any]) -> TestRunStatus:
    """The TestRun's status as the model reads it; Pending until the operator has written one."""
    raw = {k: v for k, v in (obj.get("status") or {}).items() if k != "kopf"}
    if not raw.get("phase"):
        return TestRunStatus(phase="Pending", message=WAITING)
    return TestRunStatus.model_validate(raw)


def verdict(status: TestRunStatus) -> int:
    """The exit code of a finished run, as ``cqltest run``: 0 Succeeded, 2 Invalid, else 1."""
    return {"Succeeded": 0, "Invalid": 2}.get(status.phase, 1)


def report_complete(data: Mapping[str, str] | None, status: TestRunStatus) -> bool:
    """Whether the report ConfigMap holds every finished attempt of ``status`` (or says it cut)."""
    if data is None:
        return False
    if TRUNCATED_KEY in data:
        return True
    finished = [
        report_key(suite.name, record.attempt)
        for suite in status.suites
        for record in suite.history
        if record.state != "Running"
    ]
    return JUNIT_KEY in data and all(key in data for key in finished)


def junit_xml(name: str, status: TestRunStatus, data: Mapping[str, str] | None) -> str:
    """The run's JUnit XML: the report ConfigMap's, else rendered from the status and reports."""
    if data is not None and data.get(JUNIT_KEY):
        return data[JUNIT_KEY]
    return render_junit(name, status, report_results(data or {}))


def attempt_selector(run: str, suite: str, attempt: int | None = None) -> str:
    """The label selector of a suite's test Jobs and pods (one attempt's, given ``attempt``)."""
    labels = {LABEL_TESTRUN: label_value(run), LABEL_SUITE: suite, LABEL_COMPONENT: "suite"}
    if attempt is not None:
        labels[LABEL_ATTEMPT] = str(attempt)
    return ",".join(f"{k}={v}" for k, v in labels.items())


def attempts_of(objects: Iterable[Mapping[str, Any]]) -> list[int]:
    """The attempt numbers the labels of ``objects`` (Jobs, pods) carry, in order."""
    found = set()
    for obj in objects:
        value = ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_ATTEMPT, "")
        if value.isdigit():
            found.add(int(value))
    return sorted(found)


def pick_pod(
    run: str,
    suite: str,
    attempt: int | None,
    jobs: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
) -> Mapping[str, Any]:
    """The pod of ``attempt`` (the latest by default) among a suite's Jobs and pods.

    Raises InputError saying what is missing: no attempt yet, no such attempt, or no pod."""
    known = attempts_of([*jobs, *pods])
    if not known:
        raise InputError(f"suite {suite} of TestRun {run} has not started an attempt yet")
    chosen = known[-1] if attempt is None else attempt
    if chosen not in known:
        listed = ", ".join(map(str, known))
        raise InputError(f"suite {suite} of TestRun {run} has no attempt {chosen}; it has {listed}")
    candidates = [p for p in pods if attempts_of([p]) == [chosen]]
    if not candidates:
        raise InputError(
            f"attempt {chosen} of suite {suite} of TestRun {run} has no pod: not created yet, "
            "or deleted with its Job"
        )
    return max(candidates, key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))


def _timeout(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timeout") from None


# ---------------------------------------------------------------------------------- commands


def _kube_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = kubeconfig_option()(command)
    return click.option(
        "-n", "--namespace", help="Namespace of the TestRun; default the context's namespace."
    )(command)


def _connect(kubeconfig: Path | None) -> Any:
    from cqltest.kube.client import Kube

    return Kube.connect(kubeconfig)


def _namespace(kubeconfig: Path | None, flag: str | None) -> str:
    from cqltest.kube.submit import default_namespace

    return flag or default_namespace(kubeconfig)


@click.command()
@click.argument("file", type=_FILE)
@_kube_options
@click.option(
    "--wait/--no-wait",
    default=False,
    show_default=True,
    help="Follow the run live until it ends, report it, and exit with its verdict.",
)
@click.option("--timeout", help="With --wait, stop waiting after this long (e.g. 30m); exit 1.")
@click.option("--junit", type=_FILE, help="With --wait, write the run's JUnit XML here.")
@output_option("Format of the final report on stdout (with --wait) or of the applied object.")
def submit(
    file: Path,
    namespace: str | None,
    kubeconfig: Path | None,
    wait: bool,
    timeout: str | None,
    junit: Path | None,
    output: str,
) -> None:
    """Apply a TestRun manifest to Kubernetes (server-side apply); with --wait, follow it."""
    from cqltest.kube.submit import apply_testrun, default_namespace

    if not wait and (timeout is not None or junit is not None):
        raise InputError("--timeout and --junit only apply with --wait")
    limit = _timeout(timeout)
    testrun = load_testrun(file)
    problems = operator_problems(testrun.spec)
    if problems:
        raise ManifestError(problems)
    manifest = yaml.safe_load(file.read_text(encoding="utf-8"))
    manifest.pop("status", None)
    namespace = resolve_namespace(
        testrun.metadata.namespace, namespace, default_namespace(kubeconfig)
    )
    kube = _connect(kubeconfig)
    try:
        stored = apply_testrun(kube, namespace, manifest)
        if not wait:
            _print_object(stored, output)
            return
        if (stored.get("status") or {}).get("phase"):
            click.echo(
                f"TestRun {namespace}/{testrun.name} already exists with this spec; following it",
                err=True,
            )
        deadline = time.monotonic() + (limit.total_seconds() if limit else float("inf"))
        progress = Progress(testrun)
        still = f"it keeps running: cqltest status {testrun.name} -n {namespace}"
        try:
            with progress:
                status = _follow(kube, namespace, testrun.name, progress, deadline)
        except KeyboardInterrupt:
            message = f"stopped waiting for TestRun {namespace}/{testrun.name}; {still}"
            raise CqltestError(message) from None
        if status.phase not in TERMINAL_RUN_PHASES:
            raise CqltestError(
                f"timed out after {timeout} waiting for TestRun {namespace}/{testrun.name} "
                f"(phase {status.phase}: {status.message}); {still}"
            )
        if junit is not None:
            data = _final_report(kube, namespace, testrun.name, status)
            if data is None or not data.get(JUNIT_KEY):
                click.echo(
                    f"no {JUNIT_KEY} in ConfigMap {report_name(testrun.name)}: "
                    "JUnit rendered from the status",
                    err=True,
                )
            write_file(junit, junit_xml(testrun.name, status, data))
        print_report(testrun.name, status, output)
    finally:
        kube.close()
    sys.exit(verdict(status))


def _print_object(stored: Mapping[str, Any], output: str) -> None:
    meta = dict(stored.get("metadata") or {})
    meta.pop("managedFields", None)
    shown = {**stored, "metadata": meta}
    if output == "json":
        click.echo(json.dumps(shown, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(shown, sort_keys=False), nl=False)
    else:
        click.echo(f"testrun.cqltest.dev/{meta['name']}")


def _follow(
    kube: Any, namespace: str, name: str, progress: Progress, deadline: float
) -> TestRunStatus:
    """Show every new status until the run ends or ``deadline`` passes; the last one seen."""
    from cqltest.kube.submit import follow_testrun

    status = TestRunStatus(phase="Pending", message=WAITING)
    for obj in follow_testrun(kube, namespace, name, deadline=deadline):
        if obj is None:
            raise CqltestError(f"TestRun {namespace}/{name} was deleted while waiting for it")
        status = status_of(obj)
        progress.update(status)
        if status.phase in TERMINAL_RUN_PHASES:
            break
    return status


def _final_report(
    kube: Any, namespace: str, name: str, status: TestRunStatus
) -> dict[str, str] | None:
    """The report ConfigMap's data, once it holds the run's last reports (or after a while)."""
    from cqltest.kube import objects

    # A run that finished no attempt (Invalid, a cluster that never came up) has no reports.
    attempted = any(record.state != "Running" for s in status.suites for record in s.history)
    until = time.monotonic() + (REPORT_WAIT if attempted else 0)
    while True:
        found = objects.get(kube, "ConfigMap", namespace, report_name(name))
        data = (found or {}).get("data") if found is not None else None
        if report_complete(data, status) or time.monotonic() >= until:
            return data
        time.sleep(0.5)


def _get_run(kube: Any, namespace: str, name: str) -> dict[str, Any]:
    from cqltest.kube import objects

    obj = objects.get_testrun(kube, namespace, name)
    if obj is None:
        raise InputError(f"no TestRun {name} in namespace {namespace}")
    return obj


@click.command()
@click.argument("name")
@_kube_options
@output_option("Output format.")
def status(name: str, namespace: str | None, kubeconfig: Path | None, output: str) -> None:
    """Show a TestRun's status on Kubernetes as `cqltest run` reports it."""
    namespace = _namespace(kubeconfig, namespace)
    kube = _connect(kubeconfig)
    try:
        obj = _get_run(kube, namespace, name)
    finally:
        kube.close()
    print_report(name, status_of(obj), output)


@click.command()
@click.argument("name")
@click.argument("suite")
@click.option("--attempt", type=click.IntRange(min=1), help="Which attempt; default the latest.")
@_kube_options
def logs(
    name: str, suite: str, attempt: int | None, namespace: str | None, kubeconfig: Path | None
) -> None:
    """Print the log of a suite's test pod (its latest attempt by default)."""
    from cqltest.kube import objects

    namespace = _namespace(kubeconfig, namespace)
    kube = _connect(kubeconfig)
    try:
        obj = _get_run(kube, namespace, name)
        suites = [s.get("name") for s in (obj.get("spec") or {}).get("suites") or []]
        if suite not in suites:
            raise InputError(
                f"TestRun {name} has no suite {suite!r}; its suites: {', '.join(map(str, suites))}"
            )
        selector = attempt_selector(name, suite)
        jobs = objects.list_labelled(kube, "Job", namespace, selector)
        pods = objects.list_labelled(kube, "Pod", namespace, selector)
        pod = pick_pod(name, suite, attempt, jobs, pods)
        pod_name = pod["metadata"]["name"]
        text = objects.pod_log(kube, namespace, pod_name)
    finally:
        kube.close()
    if text:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        phase = (pod.get("status") or {}).get("phase", "Unknown")
        click.echo(f"pod {pod_name} has no log (yet): phase {phase}", err=True)
