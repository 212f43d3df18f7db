"""CQL probes against exactly one node: does it answer, and which peers does it see UP?

Readiness is judged through CQL only (no nodetool JVM, no JMX from Python): a driver session
pinned to one host with a whitelist policy, so an answer proves *that* node serves CQL. What a
node thinks of its peers is read from its gossip-fed ``system.peers_v2`` (a peer is listed, with
tokens, once gossip has seen it join) and its ``system_views.internode_outbound`` virtual table
(a live, established messaging connection to the peer, which the failure detector's echo needs
before it marks a peer UP).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import ConstantReconnectionPolicy, WhiteListRoundRobinPolicy


@contextlib.contextmanager
def quiet_driver() -> Iterator[None]:
    """Silence the driver's logging while nodes are probed, then restore it.

    Probing nodes that are still starting makes the driver log every refused connection and
    failed login: expected noise, which would otherwise fill terminals and test reports.
    """
    logger = logging.getLogger("cassandra")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def client_ssl_context(ca_path: str | Path, check_hostname: bool = True) -> ssl.SSLContext:
    """A context that verifies the node against the cluster's CA; generated node certs carry an
    IP SAN, given stores (one keystore for every node) usually do not, hence ``check_hostname``."""
    context = ssl.create_default_context(cafile=str(ca_path))
    context.check_hostname = check_hostname
    return context


def connect_one(
    address: str,
    port: int,
    credentials: Credentials | None = None,
    ca_path: str | Path | None = None,
    timeout: float = 5.0,
    check_hostname: bool = True,
) -> tuple[Cluster, Session]:
    """A driver session that sends every request to ``address`` and nowhere else."""
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([address]), request_timeout=timeout
    )
    kwargs: dict[str, Any] = {}
    if credentials is not None:
        kwargs["auth_provider"] = PlainTextAuthProvider(credentials.username, credentials.password)
    if ca_path is not None:
        kwargs["ssl_context"] = client_ssl_context(ca_path, check_hostname)
    cluster = Cluster(
        [address],
        port=port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout,
        control_connection_timeout=timeout,
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
        reconnection_policy=ConstantReconnectionPolicy(0.5, max_attempts=None),
        **kwargs,
    )
    try:
        session = cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise
    return cluster, session


@dataclass(frozen=True)
class PeerView:
    """One node's view of the others: listed (gossip knows them) and connected (messaging up)."""

    listed: frozenset[str]
    connected: frozenset[str]


def peer_view(session: Session) -> PeerView:
    listed = frozenset(
        str(row.peer)
        for row in session.execute("SELECT peer, tokens FROM system.peers_v2")
        if row.tokens
    )
    connected = frozenset(
        str(row.address)
        for row in session.execute(
            "SELECT address, active_connections FROM system_views.internode_outbound"
        )
        if row.active_connections
    )
    return PeerView(listed, connected)
