"""The Job that health-checks and resets a pooled cluster from inside it (operator mode).

It is the cluster's CQL probe Job (:func:`cqltest.render.job.render_probe_job`: same name,
labels, environment, secrets and deadline, so the operator's readiness logic counts it like any
probe) running ``python -m cqlsuites reset`` instead of ``probe``: it waits for CQL as the probe
does, then, on a cluster a run gave back, drops what the cluster's baseline does not name, and
prints the keyspaces and roles left, which become the baseline of a cluster just provisioned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from cqltest.render.environment import Connection
from cqltest.render.job import PROBE_TIMEOUT, deadline_seconds, render_probe_job
from cqltest.render.pods import NO_SECRETS, Owner, Secrets


def reset_command(timeout: timedelta, kept: Mapping[str, Sequence[str]] | None) -> list[str]:
    """``cqlsuites reset``'s arguments: ``kept`` None lists only, else drops all but ``kept``."""
    command = ["reset", "--timeout", str(deadline_seconds(timeout))]
    if kept is not None:
        command.append("--drop")
        command += [f"--keep-keyspace={k}" for k in kept.get("keyspaces", [])]
        command += [f"--keep-role={r}" for r in kept.get("roles", [])]
    return command


def render_reset_job(
    owner: Owner,
    attempt: int,
    connection: Connection,
    *,
    image: str,
    kept: Mapping[str, Sequence[str]] | None,
    secrets: Secrets = NO_SECRETS,
    timeout: timedelta = PROBE_TIMEOUT,
) -> dict[str, Any]:
    job = render_probe_job(
        owner, attempt, connection, image=image, secrets=secrets, timeout=timeout
    )
    container = job["spec"]["template"]["spec"]["containers"][0]
    command: list[str] = container["command"]
    at = command.index("probe")  # python -m cqlsuites probe --timeout N
    container["command"] = [*command[:at], *reset_command(timeout, kept)]
    return job
