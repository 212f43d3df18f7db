"""The suite environment contract (DESIGN.md, contracts §3) as the launchers write it.

``cqlsuites.env`` is the one reader; this is the one writer, shared by local mode (a subprocess
environment) and the operator (a Job's container ``env``), so a suite sees the same variables
with the same values wherever it runs. Secrets are the only difference: locally the password is
a plain variable, in a pod it comes from a ``secretKeyRef`` and the CA from a mounted Secret,
which :mod:`cqltest.render.job` substitutes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cqltest.model import SuiteSpec

KEYSPACE_MAX = 48
"""cqlsuites.env accepts unquoted keyspace names of at most 48 characters."""


@dataclass(frozen=True)
class Connection:
    """How suites reach the cluster: what the environment contract tells them."""

    contact_points: tuple[str, ...]
    port: int = 9042
    local_dc: str | None = None
    username: str | None = None
    password: str | None = None
    ca_path: str | None = None
    topology: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """``{"dc1": {"nodes": 3, "replicationFactor": 3}}``; empty lets suites read the ring."""


def keyspace_name(run: str, suite: str) -> str:
    """``<run>_<suite>`` as a valid CQL identifier, unique per suite of a run."""
    name = re.sub(r"[^a-z0-9_]", "_", f"{run}_{suite}".lower())
    if not name[0].isalpha():
        name = "r_" + name
    if len(name) > KEYSPACE_MAX:
        digest = hashlib.sha256(f"{run}/{suite}".encode()).hexdigest()[:8]
        name = f"{name[: KEYSPACE_MAX - 9]}_{digest}"
    return name


def connection_variables(connection: Connection) -> dict[str, str]:
    """The variables that say how to reach the cluster (all a CQL probe needs)."""
    env = {
        "CQLTEST_CONTACT_POINTS": ",".join(connection.contact_points),
        "CQLTEST_PORT": str(connection.port),
    }
    if connection.local_dc:
        env["CQLTEST_LOCAL_DC"] = connection.local_dc
    if connection.username is not None:
        env["CQLTEST_USERNAME"] = connection.username
        env["CQLTEST_PASSWORD"] = connection.password or ""
    if connection.ca_path is not None:
        env["CQLTEST_TLS_CA"] = connection.ca_path
    return env


def suite_variables(
    connection: Connection, *, run: str, suite: SuiteSpec, attempt: int
) -> dict[str, str]:
    """Every ``CQLTEST_*`` variable of one attempt (the password included, when there is one)."""
    return {
        **connection_variables(connection),
        "CQLTEST_TOPOLOGY": json.dumps(dict(connection.topology)),
        "CQLTEST_KEYSPACE": keyspace_name(run, suite.name),
        "CQLTEST_PARAMS": json.dumps(suite.params),
        "CQLTEST_SUITE": suite.name,
        "CQLTEST_ATTEMPT": str(attempt),
        "CQLTEST_RUN": run,
    }
