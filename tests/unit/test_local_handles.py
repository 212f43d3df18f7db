"""An existing cluster in local mode: what the suites are told, from a real TCP listener.

``AttachedCluster.start`` only checks that a contact point accepts TCP connections, so a
listening socket on loopback is the real thing for it; what CQL the node would speak is the
Cassandra tests' business (``tests/cassandra/test_suite_load.py`` attaches to a real node).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cqltest.local.handles import AttachedCluster
from cqltest.model import ClusterSpec


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def _attached(port: int, base_dir: Path, **existing: object) -> AttachedCluster:
    cluster = ClusterSpec.model_validate(
        {
            "existing": {
                "contactPoints": ["127.0.0.1"],
                "port": port,
                "localDatacenter": "east",
                **existing,
            }
        }
    )
    assert cluster.existing is not None
    return AttachedCluster(cluster, cluster.existing, base_dir)


def test_attached_connection_carries_the_resolved_password_and_ca(
    listener: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEANUP_TEST_PASSWORD", "s3cret")
    handle = _attached(
        listener,
        tmp_path,
        username="tester",
        passwordFrom={"env": "CLEANUP_TEST_PASSWORD"},
        caPath="certs/ca.pem",
    )
    events: list[str] = []
    connection = handle.start(5.0, events.append)
    assert connection.contact_points == ("127.0.0.1",)
    assert (connection.port, connection.local_dc) == (listener, "east")
    assert (connection.username, connection.password) == ("tester", "s3cret")
    assert connection.ca_path == str((tmp_path / "certs" / "ca.pem").resolve())
    assert events == ["attaching to 127.0.0.1"]


def test_attached_cluster_nobody_listens_on_is_a_connection_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    handle = _attached(port, tmp_path)
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        handle.start(2.0, lambda _: None)
