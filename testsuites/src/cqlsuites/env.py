"""The one reader of the suite environment contract (DESIGN.md, contracts §3).

A suite process learns everything about where and how to test from ``CQLTEST_*`` variables,
set by the local backend for a subprocess or by the operator for a pod. Parsing them in one
place means a malformed value fails once, early, with a message naming the variable, instead of
surfacing as a confusing driver error deep inside a test.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Cassandra accepts unquoted keyspace names of this shape; anything else would need quoting
# everywhere a suite builds CQL, so the contract forbids it.
_KEYSPACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


class EnvError(ValueError):
    """A ``CQLTEST_*`` variable is missing or malformed; the message names it and the rule."""


@dataclass(frozen=True)
class DatacenterTopology:
    """One datacenter as the run declared it: node count and the suite's replication factor."""

    nodes: int
    replication_factor: int


@dataclass(frozen=True)
class SuiteEnv:
    """Everything a suite process is told by its launcher, typed and validated."""

    contact_points: tuple[str, ...] = ()
    port: int = 9042
    local_dc: str | None = None
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    topology: Mapping[str, DatacenterTopology] = field(default_factory=dict)
    keyspace: str = "cqltest"
    params: Mapping[str, Any] = field(default_factory=dict)
    suite: str = "suite"
    attempt: int = 1
    result_path: Path | None = None
    run: str | None = None

    def require_contact_points(self) -> tuple[str, ...]:
        """The contact points, or an error saying which variable the launcher forgot."""
        if not self.contact_points:
            raise EnvError(
                "CQLTEST_CONTACT_POINTS is not set: a suite needs at least one Cassandra "
                "address (comma-separated, e.g. 127.0.1.1,127.0.1.2)"
            )
        return self.contact_points

    def replication(self) -> dict[str, int]:
        """NetworkTopologyStrategy replication factors per datacenter for the suite keyspace."""
        return {dc: t.replication_factor for dc, t in self.topology.items()}


def read_env(environ: Mapping[str, str] | None = None) -> SuiteEnv:
    """Parse the suite environment; raise :class:`EnvError` naming the first bad variable."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value not in (None, "") else None

    suite = get("CQLTEST_SUITE") or "suite"
    keyspace = get("CQLTEST_KEYSPACE") or default_keyspace(suite)
    if not _KEYSPACE_RE.match(keyspace):
        raise EnvError(
            f"CQLTEST_KEYSPACE={keyspace!r} is not a valid keyspace name: it must start with a "
            "letter and contain only letters, digits and underscores, at most 48 characters"
        )
    tls_ca = get("CQLTEST_TLS_CA")
    if tls_ca is not None and not Path(tls_ca).is_file():
        raise EnvError(f"CQLTEST_TLS_CA={tls_ca!r} is not a readable file (a PEM CA certificate)")
    result_path = get("CQLTEST_RESULT_PATH")
    return SuiteEnv(
        contact_points=_contact_points(get("CQLTEST_CONTACT_POINTS")),
        port=_int("CQLTEST_PORT", get("CQLTEST_PORT"), default=9042, low=1, high=65535),
        local_dc=get("CQLTEST_LOCAL_DC"),
        username=get("CQLTEST_USERNAME"),
        password=get("CQLTEST_PASSWORD"),
        tls_ca=Path(tls_ca) if tls_ca else None,
        topology=_topology(get("CQLTEST_TOPOLOGY")),
        keyspace=keyspace,
        params=_json_object("CQLTEST_PARAMS", get("CQLTEST_PARAMS")),
        suite=suite,
        attempt=_int("CQLTEST_ATTEMPT", get("CQLTEST_ATTEMPT"), default=1, low=1, high=10_000),
        result_path=Path(result_path) if result_path else None,
        run=get("CQLTEST_RUN"),
    )


def read_report_target(environ: Mapping[str, str] | None = None) -> SuiteEnv:
    """Only the fields needed to report a failure, read leniently: never raises.

    When the environment is malformed the suite cannot run, but the launcher still deserves a
    SuiteResult saying why, written where it looks for one.
    """
    env = os.environ if environ is None else environ
    attempt = env.get("CQLTEST_ATTEMPT", "1")
    result_path = env.get("CQLTEST_RESULT_PATH")
    return SuiteEnv(
        suite=env.get("CQLTEST_SUITE") or "suite",
        attempt=int(attempt) if attempt.isdigit() and int(attempt) > 0 else 1,
        result_path=Path(result_path) if result_path else None,
    )


def default_keyspace(suite: str) -> str:
    """A valid keyspace name derived from a suite name (suite names may contain dashes)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", suite)
    if not name or not name[0].isalpha():
        name = "s_" + name
    return name[:48]


def _contact_points(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    points = tuple(p.strip() for p in raw.split(","))
    if any(not p or any(c.isspace() for c in p) for p in points):
        raise EnvError(
            f"CQLTEST_CONTACT_POINTS={raw!r} must be a comma-separated list of host names or "
            "addresses with no empty entries"
        )
    return points


def _int(name: str, raw: str | None, *, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise EnvError(f"{name}={value} is out of range: it must be between {low} and {high}")
    return value


def _json_object(name: str, raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EnvError(f"{name}={raw!r} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise EnvError(f"{name}={raw!r} must be a JSON object")
    return value


def _topology(raw: str | None) -> dict[str, DatacenterTopology]:
    name = "CQLTEST_TOPOLOGY"
    rule = 'a JSON object like {"dc1": {"nodes": 3, "replicationFactor": 3}}'
    result: dict[str, DatacenterTopology] = {}
    for dc, entry in _json_object(name, raw).items():
        if not isinstance(entry, dict):
            raise EnvError(f"{name}: datacenter {dc!r} must map to an object; expected {rule}")
        nodes = entry.get("nodes")
        rf = entry.get("replicationFactor", min(3, nodes) if isinstance(nodes, int) else None)
        if not _positive_int(nodes):
            raise EnvError(f"{name}: {dc}.nodes={nodes!r} must be a positive integer")
        if not _positive_int(rf):
            raise EnvError(f"{name}: {dc}.replicationFactor={rf!r} must be a positive integer")
        assert isinstance(nodes, int)
        assert isinstance(rf, int)
        if rf > nodes:
            raise EnvError(
                f"{name}: {dc}.replicationFactor={rf} exceeds the datacenter's {nodes} node(s)"
            )
        result[dc] = DatacenterTopology(nodes=nodes, replication_factor=rf)
    return result


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
