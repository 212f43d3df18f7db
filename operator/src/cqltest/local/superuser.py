"""Replacing the well-known default superuser of a new cluster with authentication.

A fresh Cassandra with PasswordAuthenticator accepts ``cassandra``/``cassandra``; a cluster
cqltest hands out must not. Once the nodes are ready, ``system_auth`` is replicated to every
node, the requested superuser is created (or the default one given a new password) and the
default role dropped, and the cluster counts as ready only when no node still accepts it.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable

from cqltest.errors import ClusterError
from cqltest.local import probe, state

if TYPE_CHECKING:
    from cqltest.local.cluster import LocalCluster

DEFAULT_CREDENTIALS = probe.Credentials("cassandra", "cassandra")


def setup_superuser(local: LocalCluster) -> None:
    """Replicate system_auth to every node and replace the well-known default superuser.

    A superuser named ``cassandra`` (a caller's choice) is the default role with the given
    password instead: it is altered, not replaced.
    """
    spec = local.state.spec
    first = local.state.nodes[0].plan.address
    replication = ", ".join(f"'{dc.name}': {dc.nodes}" for dc in spec.datacenters)
    password = spec.superuser_password or secrets.token_urlsafe(18)
    role = '"' + spec.superuser.replace('"', '""') + '"'
    replaces_default = spec.superuser != DEFAULT_CREDENTIALS.username
    deadline = time.monotonic() + 60
    while True:
        try:
            cluster, session = local.connect(first, DEFAULT_CREDENTIALS)
            try:
                session.execute(
                    "ALTER KEYSPACE system_auth WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', {replication}}}"
                )
                session.execute(
                    f"CREATE ROLE IF NOT EXISTS {role} WITH PASSWORD = %s "
                    "AND SUPERUSER = true AND LOGIN = true"
                    if replaces_default
                    else f"ALTER ROLE {role} WITH PASSWORD = %s",
                    (password,),
                )
            finally:
                cluster.shutdown()
            break
        except Exception as exc:
            # The default role is created asynchronously just after start-up, and on a
            # multi-node cluster its superuser flag can be unreadable for a moment
            # (Unauthorized), so the whole setup is retried until the deadline.
            if time.monotonic() > deadline:
                raise ClusterError(f"cannot set up the superuser: {exc}") from exc
            time.sleep(0.5)
    local.state.username, local.state.password = spec.superuser, password
    state.save(local.directory, local.state)
    cluster, session = local.connect(first, probe.Credentials(spec.superuser, password))
    try:
        if replaces_default:
            session.execute("DROP ROLE IF EXISTS cassandra")
    finally:
        cluster.shutdown()
    _wait_default_login_refused(local)


def _wait_default_login_refused(local: LocalCluster) -> None:
    """Report the cluster ready only once no node still accepts cassandra/cassandra.

    Each node caches credentials it has checked (credentials_validity, 2 s by default), so
    for a moment after the DROP the setup's own login still works; a client connecting then
    would see the well-known superuser alive.
    """
    for node in local.state.nodes:
        deadline = time.monotonic() + 30
        while True:
            try:
                cluster, _ = local.connect(node.plan.address, DEFAULT_CREDENTIALS)
            except Exception as exc:
                if isinstance(exc, NoHostAvailable) and any(
                    isinstance(e, AuthenticationFailed) for e in _host_errors(exc)
                ):
                    break
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"node {node.plan.name} neither refused nor accepted the default "
                        f"superuser: {exc}"
                    ) from exc
            else:
                cluster.shutdown()
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"node {node.plan.name} still accepts the dropped 'cassandra' role"
                    )
            time.sleep(0.3)


def _host_errors(exc: NoHostAvailable) -> list[object]:
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    return list(errors.values())
