"""``python -m cqlsuites probe`` without a cluster: it says why and exits 1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def probe(env: dict[str, str], timeout: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "cqlsuites", "probe", "--timeout", timeout],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_environment_fails_at_once() -> None:
    done = probe({"CQLTEST_CONTACT_POINTS": "a,,b"}, "30")
    assert done.returncode == 1
    assert "CQLTEST_CONTACT_POINTS" in done.stderr


def test_nothing_listening_fails_with_the_drivers_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = probe({"CQLTEST_CONTACT_POINTS": "127.0.0.1", "CQLTEST_PORT": str(port)}, "1")
    assert done.returncode == 1
    assert "no CQL answer: NoHostAvailable" in done.stderr
