"""``python -m cqlsuites probe``: is the cluster answering CQL, as a suite would reach it?

The operator runs this as a Job inside the cluster's network before it starts any suite
(readiness as K8ssandra reports it says the nodes are up, not that a client with these
credentials and this CA can query them). It reads the same environment contract as a suite,
retries until ``timeout``, prints the server version and exits 0, or prints why not and exits 1.

With ``--nodes`` it checks a fault's recovery instead (the operator's recovery Job, for nodes it
cannot reach itself): each listed node answers CQL, and each ``--observers`` node hears every
listed node's gossip heartbeat advance (``system_views.gossip_info``), which happens only while
gossip flows between them, i.e. the peer sees the node UP.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from cqlsuites import connect
from cqlsuites.env import EnvError, SuiteEnv, read_env

EXIT_OK, EXIT_FAILED = 0, 1
QUERY = "SELECT release_version FROM system.local"
GOSSIP = "SELECT address, generation, heartbeat FROM system_views.gossip_info"
HEARTBEAT_GAP = 1.5
"""Seconds between two gossip reads: a live peer's heartbeat ticks about once a second."""
Heartbeats = Mapping[str, tuple[int, int]]
"""Each gossip endpoint's (generation, heartbeat) as one node sees it, by address."""


async def probe_once(limit: float) -> str:
    """The release_version of the node that answers, or the driver's error."""
    env = read_env()
    async with connect.new_cluster(env) as cluster:
        session = await cluster.connect(timeout=limit)
        result = await session.execute(QUERY, timeout=limit)
        row = result.one()
        return str(row[0] if row is not None else "unknown")


def probe(timeout: float = 60.0, interval: float = 2.0) -> int:
    """Probe until one query succeeds or ``timeout`` seconds pass; the exit code."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            version = asyncio.run(probe_once(max(1.0, min(left, 10.0))))
        except EnvError as exc:
            print(f"cqlsuites probe: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except Exception as exc:  # any driver error means "not yet"; the last one is reported
            if time.monotonic() + interval >= deadline:
                why = f"{type(exc).__name__}: {exc}"
                print(f"cqlsuites probe: no CQL answer: {why}", file=sys.stderr)
                return EXIT_FAILED
            time.sleep(interval)
            continue
        print(f"cqlsuites probe: release_version {version}")
        return EXIT_OK


def deaf(observer: str, wanted: Sequence[str], first: Heartbeats, second: Heartbeats) -> str | None:
    """The first of ``wanted`` whose heartbeat did not advance between two reads of
    ``observer``'s gossip (None when all did): that node is not (yet) UP for the observer."""
    for address in sorted(set(wanted) - {observer}):
        before, after = first.get(address), second.get(address)
        if before is None or after is None or after <= before:
            return address
    return None


def _open(env: SuiteEnv, address: str, limit: float) -> tuple[Any, Any]:
    """A driver cluster and session that talk to ``address`` only."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    options = connect.cluster_options(env)
    options.pop("local_dc", None)  # the whitelist decides where requests go
    only = WhiteListRoundRobinPolicy([address])
    profile = ExecutionProfile(load_balancing_policy=only, request_timeout=limit)
    cluster = Cluster(
        [address],
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=limit,
        **options,
    )
    try:
        return cluster, cluster.connect()
    except Exception:
        cluster.shutdown()
        raise


def _heartbeats(session: Any) -> dict[str, tuple[int, int]]:
    return {str(r.address): (r.generation, r.heartbeat) for r in session.execute(GOSSIP)}


def unrecovered(env: SuiteEnv, nodes: Sequence[str], observers: Sequence[str]) -> str:
    """What is not recovered yet ("" when everything is): a silent node, or a deaf observer."""
    for node in nodes:
        try:
            cluster, _ = _open(env, node, 5.0)
        except Exception as exc:  # any failure to answer is "not yet"
            return f"{node} does not answer CQL ({type(exc).__name__}: {exc})"
        cluster.shutdown()
    for observer in observers:
        try:
            cluster, session = _open(env, observer, 5.0)
        except Exception as exc:
            return f"observer {observer} does not answer CQL ({type(exc).__name__}: {exc})"
        try:
            first = _heartbeats(session)
            time.sleep(HEARTBEAT_GAP)
            second = _heartbeats(session)
        except Exception as exc:
            return f"observer {observer} cannot read gossip ({type(exc).__name__}: {exc})"
        finally:
            cluster.shutdown()
        silent = deaf(observer, nodes, first, second)
        if silent is not None:
            return f"{observer} hears no heartbeat from {silent}"
    return ""


def recovery(
    nodes: Sequence[str], observers: Sequence[str], timeout: float = 60.0, interval: float = 1.0
) -> int:
    """Check recovery until it holds or ``timeout`` seconds pass; the exit code."""
    try:
        env = read_env()
    except EnvError as exc:
        print(f"cqlsuites probe: {exc}", file=sys.stderr)
        return EXIT_FAILED
    deadline = time.monotonic() + timeout
    while True:
        missing = unrecovered(env, nodes, observers)
        if not missing:
            print(f"cqlsuites probe: recovered: {', '.join(nodes)}")
            return EXIT_OK
        if time.monotonic() + interval >= deadline:
            print(f"cqlsuites probe: not recovered within {timeout:g}s: {missing}", file=sys.stderr)
            return EXIT_FAILED
        time.sleep(interval)
