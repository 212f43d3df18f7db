"""Connections for suites, built from the environment contract and always instrumented.

Suites get sessions from the plugin's fixtures rather than building clusters themselves, so
every request they make is counted in the SuiteResult metrics, and connection details (auth,
TLS, local datacenter) are interpreted in exactly one place.
"""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING, Any

from cqlsuites.env import SuiteEnv
from cqlsuites.stats import OpStats

if TYPE_CHECKING:
    from aiocql import AsyncCluster, AsyncSession
    from aiocql.listeners import RequestEvent

SCHEMA_AGREEMENT_WAIT = 45.0
# Requests that are a test's own operations; prepares and keyspace switches are plumbing.
_OPERATION_KINDS = frozenset({"execute", "batch", "page"})
# Schema changes wait for cluster-wide schema agreement (hundreds of ms); counted with data
# operations they would swamp the latency percentiles that thresholds are about.
_SCHEMA_VERBS = ("CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE")


def cluster_options(env: SuiteEnv) -> dict[str, Any]:
    """Keyword arguments for :class:`aiocql.AsyncCluster` derived from the environment."""
    from cassandra.auth import PlainTextAuthProvider

    # A DDL statement returns once every node agrees on the schema, or after this wait; the
    # driver's 10 s default gives up silently on a loaded cluster, and the next statement on
    # another coordinator then fails with "table does not exist".
    options: dict[str, Any] = {"port": env.port, "max_schema_agreement_wait": SCHEMA_AGREEMENT_WAIT}
    if env.username is not None:
        options["auth_provider"] = PlainTextAuthProvider(env.username, env.password or "")
    if env.tls_ca is not None:
        context = ssl.create_default_context(cafile=str(env.tls_ca))
        # Node certificates name the node, not the loopback/pod address the driver dials; trust
        # comes from the CA, which the launcher handed us for exactly this cluster.
        context.check_hostname = False
        options["ssl_context"] = context
    if env.local_dc is not None:
        options["local_dc"] = env.local_dc
    return options


def consistency_level(name: str) -> int:
    """The driver's value for a consistency level named as in CQL (``LOCAL_QUORUM``)."""
    from cassandra import ConsistencyLevel

    try:
        level: int = ConsistencyLevel.name_to_value[name.upper()]
    except KeyError:
        known = ", ".join(sorted(ConsistencyLevel.name_to_value))
        raise ValueError(f"consistency {name!r} is not a consistency level ({known})") from None
    return level


def new_cluster(env: SuiteEnv) -> AsyncCluster:
    from aiocql import AsyncCluster

    return AsyncCluster(list(env.require_contact_points()), **cluster_options(env))


def stats_listener(stats: OpStats) -> Any:
    """An aiocql request listener that feeds ``stats``; it runs on the loop thread."""
    clock = time.monotonic

    def on_request(event: RequestEvent) -> None:
        if event.kind not in _OPERATION_KINDS or event.outcome == "cancelled":
            return
        if is_schema_change(event.query):
            return
        error_kind = None if event.outcome == "ok" else (event.error_kind or event.outcome)
        stats.record(end=clock(), latency_s=event.latency, error_kind=error_kind)

    return on_request


def is_schema_change(query: str) -> bool:
    """Whether a CQL text is DDL/DCL rather than a data operation."""
    return query.lstrip().upper().startswith(_SCHEMA_VERBS)


async def connect(cluster: AsyncCluster, stats: OpStats) -> AsyncSession:
    """A session whose operations are counted in ``stats``."""
    session = await cluster.connect()
    session.add_listener(stats_listener(stats))
    return session


def replication_for(env: SuiteEnv, cluster: AsyncCluster) -> dict[str, int]:
    """Replication factors per DC: as the run declared, else min(3, nodes) per DC seen."""
    if env.topology:
        return env.replication()
    per_dc: dict[str, int] = {}
    for host in cluster.metadata.all_hosts():
        per_dc[host.datacenter] = per_dc.get(host.datacenter, 0) + 1
    return {dc: min(3, n) for dc, n in sorted(per_dc.items())}


def keyspace_cql(keyspace: str, replication: dict[str, int]) -> str:
    factors = ", ".join(f"'{dc}': {rf}" for dc, rf in replication.items())
    return (
        f"CREATE KEYSPACE {keyspace} WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', {factors}}}"
    )
