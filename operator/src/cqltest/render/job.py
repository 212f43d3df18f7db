"""The Job of one suite attempt, and the CQL probe Job: pure manifests for the operator.

One Job per attempt, named ``child_name(run, suite, attempt)`` so a restarted operator that
re-applies a StartSuite finds the Job it created before; ``backoffLimit: 0`` because retries
are the engine's (each one is a new attempt, with its own Job); ``activeDeadlineSeconds`` is the
deadline the caller computed (``engine.attempt_deadline``: the suite's timeout, or less when the
run's own timeout comes first) plus a grace, so a Job never outlives what the engine allows
even while the operator is down. Finished
Jobs stay (no ``ttlSecondsAfterFinished``): they and their pods are the record
``engine.world`` reads after a restart, and they go with the TestRun.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from cqltest.engine.names import (
    LABEL_COMPONENT,
    LABEL_TESTRUN,
    attempt_labels,
    child_name,
    label_value,
    probe_name,
)
from cqltest.engine.world import SUITE_CONTAINER
from cqltest.model import SuiteSpec, TestRunSpec
from cqltest.render.environment import Connection, suite_variables
from cqltest.render.pods import (
    NO_SECRETS,
    Owner,
    Secrets,
    environment,
    pod_spec,
    probe_environment,
)

PYTHON = "python"
"""The interpreter on the test image's PATH that has cqlsuites installed."""
DEFAULT_RESOURCES: Mapping[str, Any] = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
}
"""A suite is a Python process driving a cluster: the driver and a stress loop want a core."""
PROBE_RESOURCES: Mapping[str, Any] = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
DEADLINE_GRACE = timedelta(seconds=30)
"""Added to a test Job's deadline: the engine cancels an attempt at its limit itself (and says
why); the Job's own deadline is the backstop for when no operator is running."""
PROBE_TIMEOUT = timedelta(minutes=2)
"""How long one probe Job keeps trying before it fails (the operator may start another)."""


def suite_image(spec: TestRunSpec, suite: SuiteSpec, default: str) -> str:
    """The suite's own image, else the run's ``spec.image``, else the operator's default."""
    return suite.image or spec.image or default


def suite_command(suite: SuiteSpec) -> list[str]:
    """The container command: the entry's own command, or the cqlsuites pod entrypoint."""
    if suite.command is not None:
        return list(suite.command)
    builtin = suite.builtin_suite
    if builtin is None:
        raise ValueError(f"suite {suite.name}: a path suite only runs in local mode")
    argv = [PYTHON, "-m", "cqlsuites", "run", builtin, "--pod"]
    if suite.markers:
        argv += ["--markers", suite.markers]
    return argv


def deadline_seconds(deadline: timedelta) -> int:
    """``activeDeadlineSeconds``: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(deadline.total_seconds()))


def render_job(
    owner: Owner,
    spec: TestRunSpec,
    suite: SuiteSpec,
    attempt: int,
    connection: Connection,
    *,
    default_image: str,
    deadline: timedelta,
    secrets: Secrets = NO_SECRETS,
    resources: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The batch/v1 Job of attempt ``attempt`` of ``suite``.

    ``connection`` carries no password (it comes from ``secrets.password``); with ``secrets.ca``
    the CA is mounted and ``CQLTEST_TLS_CA`` points at it.
    """
    labels = attempt_labels(owner.name, suite.name, attempt)
    variables = suite_variables(connection, run=owner.name, suite=suite, attempt=attempt)
    pod = pod_spec(
        image=suite_image(spec, suite, default_image),
        command=suite_command(suite),
        env=environment(variables, connection, secrets),
        secrets=secrets,
        resources=resources or DEFAULT_RESOURCES,
        container=SUITE_CONTAINER,
    )
    name = child_name(owner.name, suite.name, attempt)
    return job_manifest(owner, name, labels, pod, deadline + DEADLINE_GRACE)


def render_probe_job(
    owner: Owner,
    attempt: int,
    connection: Connection,
    *,
    image: str,
    secrets: Secrets = NO_SECRETS,
    timeout: timedelta = PROBE_TIMEOUT,
) -> dict[str, Any]:
    """A Job that runs ``python -m cqlsuites probe``: Complete once the cluster answers CQL.

    Named ``probe_name(run, attempt)``; a failed probe is retried as a new attempt. The probe
    keeps trying for ``timeout`` and the Job's deadline leaves it a minute more to report.
    """
    labels = {LABEL_TESTRUN: label_value(owner.name), LABEL_COMPONENT: "probe"}
    seconds = deadline_seconds(timeout)
    pod = pod_spec(
        image=image,
        command=[PYTHON, "-m", "cqlsuites", "probe", "--timeout", str(seconds)],
        env=probe_environment(connection, secrets),
        secrets=secrets,
        resources=PROBE_RESOURCES,
        container="probe",
    )
    return job_manifest(
        owner, probe_name(owner.name, attempt), labels, pod, timeout + timedelta(minutes=1)
    )


def job_manifest(
    owner: Owner,
    name: str,
    labels: Mapping[str, str],
    pod: dict[str, Any],
    deadline: timedelta,
) -> dict[str, Any]:
    metadata = owner.metadata(name, labels)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds(deadline),
            "template": {"metadata": {"labels": dict(metadata["labels"])}, "spec": pod},
        },
    }
