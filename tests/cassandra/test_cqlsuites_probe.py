"""``python -m cqlsuites probe`` against a real node with authentication and client TLS.

The environment is the one the launchers write (render.environment), so this is the probe Job's
command as it runs in a pod, minus the pod.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cqltest.local import ClusterInfo
from cqltest.render.environment import Connection, connection_variables

pytestmark = pytest.mark.cassandra


def probe(info: ClusterInfo, password: str | None) -> subprocess.CompletedProcess[str]:
    connection = Connection(
        tuple(info.contact_points),
        port=info.port,
        local_dc="dc1",
        username=info.username,
        password=password,
        ca_path=info.ca_path,
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "cqlsuites", "probe", "--timeout", "5"],
        env={**clean, **connection_variables(connection)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_probe_answers_with_the_server_version(cluster_secure: ClusterInfo) -> None:
    done = probe(cluster_secure, cluster_secure.password)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cqlsuites probe: release_version 5.")


def test_a_wrong_password_fails_the_probe(cluster_secure: ClusterInfo) -> None:
    done = probe(cluster_secure, "not-the-password")
    assert done.returncode == 1
    assert "no CQL answer" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout
