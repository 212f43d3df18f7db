"""Authentication and client TLS on a 1-node cluster: what is refused and what works."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable, Session
from cqltest.local import SUPERUSER, ClusterInfo

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(300)]


def _verified_context(info: ClusterInfo) -> ssl.SSLContext:
    assert info.ca_path is not None
    return ssl.create_default_context(cafile=info.ca_path)


def _connect(info: ClusterInfo, **kwargs: Any) -> tuple[Cluster, Session]:
    cluster = Cluster(info.contact_points, port=info.port, connect_timeout=10, **kwargs)
    try:
        return cluster, cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise


@pytest.fixture
def superuser_session(cluster_secure: ClusterInfo) -> Iterator[Session]:
    assert cluster_secure.username
    assert cluster_secure.password
    cluster, session = _connect(
        cluster_secure,
        auth_provider=PlainTextAuthProvider(cluster_secure.username, cluster_secure.password),
        ssl_context=_verified_context(cluster_secure),
    )
    try:
        yield session
    finally:
        cluster.shutdown()


def test_credentials_and_ca_are_reported(cluster_secure: ClusterInfo) -> None:
    assert cluster_secure.username == SUPERUSER
    assert cluster_secure.password
    assert len(cluster_secure.password) >= 16
    assert cluster_secure.ca_path
    assert cluster_secure.ca_path.endswith(".pem")


def test_superuser_works_over_verified_tls(superuser_session: Session) -> None:
    row = superuser_session.execute(
        "SELECT role, is_superuser, can_login FROM system_auth.roles WHERE role = %s",
        (SUPERUSER,),
    ).one()
    assert row.is_superuser
    assert row.can_login
    superuser_session.execute(
        "CREATE ROLE IF NOT EXISTS reader WITH LOGIN = true AND PASSWORD = 'r'"
    )
    superuser_session.execute("DROP ROLE reader")


def test_default_superuser_is_gone(cluster_secure: ClusterInfo) -> None:
    with pytest.raises(NoHostAvailable, match=r"(?i)authentication|credentials|password"):
        _connect(
            cluster_secure,
            auth_provider=PlainTextAuthProvider("cassandra", "cassandra"),
            ssl_context=_verified_context(cluster_secure),
        )


def test_bad_password_is_rejected(cluster_secure: ClusterInfo) -> None:
    with pytest.raises(NoHostAvailable, match=r"(?i)authentication|credentials|password"):
        _connect(
            cluster_secure,
            auth_provider=PlainTextAuthProvider(SUPERUSER, "wrong-password"),
            ssl_context=_verified_context(cluster_secure),
        )


def test_missing_credentials_are_rejected(cluster_secure: ClusterInfo) -> None:
    with pytest.raises(NoHostAvailable, match=r"(?i)authenticat"):
        _connect(cluster_secure, ssl_context=_verified_context(cluster_secure))


def test_plain_text_connection_is_rejected(cluster_secure: ClusterInfo) -> None:
    assert cluster_secure.password is not None
    with pytest.raises(NoHostAvailable):
        _connect(
            cluster_secure,
            auth_provider=PlainTextAuthProvider(SUPERUSER, cluster_secure.password),
        )


def test_tls_with_an_unknown_ca_is_rejected(cluster_secure: ClusterInfo, tmp_path: Any) -> None:
    assert cluster_secure.password is not None
    from cqltest.local import certs

    other_ca, _ = certs.create_ca(tmp_path, "someone-else")
    with pytest.raises(NoHostAvailable, match=r"(?i)certificate|ssl"):
        _connect(
            cluster_secure,
            auth_provider=PlainTextAuthProvider(SUPERUSER, cluster_secure.password),
            ssl_context=ssl.create_default_context(cafile=str(other_ca)),
        )
