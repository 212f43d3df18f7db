"""The node agent's container sandbox: bind mounts in a private mount namespace, host untouched.

Needs root (or unprivileged user namespaces) and `unshare`; each case starts one real process.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cqltest.localkube.agent.containers import Launch, namespace_command, start
from cqltest.localkube.agent.volumes import Mount


@pytest.fixture(autouse=True)
def _isolation() -> None:
    """Mount namespaces are what localkube's node agent is built on: without root or user
    namespaces it cannot run a pod, so these tests fail saying what is needed, never skip."""
    namespace_command()  # raises, naming what is missing
    assert shutil.which("unshare"), "unshare (util-linux) is needed: apt-get install util-linux"


def run(pod_dir: Path, script: str, mounts: list[Mount]) -> tuple[int, str, str]:
    launch = Launch(
        pod_dir, "main", ["sh", "-c", script], {"PATH": "/usr/bin:/bin"}, str(pod_dir), mounts
    )
    process = start(launch, "/dev/termination-log", restart=False)
    code = process.wait(timeout=30)
    return code, launch.log.read_text(), launch.termination_file.read_text()


def test_volumes_hosts_and_termination_log_appear_only_inside(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "password").write_text("s3cret")
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.1\tdb\n")
    script = (
        "cat /etc/cqltest/secret/password; echo; grep db /etc/hosts; "
        "touch /etc/cqltest/secret/new 2>/dev/null || echo read-only; "
        "test -e /etc/passwd && echo host-etc-visible; "
        "echo done > /dev/termination-log; exit 4"
    )
    code, log, message = run(
        tmp_path,
        script,
        [
            Mount(str(volume), "/etc/cqltest/secret", True),
            Mount(str(hosts), "/etc/hosts", False),
        ],
    )
    assert code == 4
    assert log.splitlines() == ["s3cret", "10.0.0.1\tdb", "read-only", "host-etc-visible"]
    assert message == "done\n"
    assert not os.path.exists("/etc/cqltest")
    assert not os.path.exists("/dev/termination-log")
    assert "10.0.0.1\tdb" not in Path("/etc/hosts").read_text()


def test_a_missing_top_level_directory_and_nested_mounts(tmp_path: Path) -> None:
    data, inner = tmp_path / "data", tmp_path / "inner"
    data.mkdir()
    inner.mkdir()
    (inner / "f").write_text("inner\n")
    top = f"/cqltest-agent-test-{os.getpid()}"
    code, log, _ = run(
        tmp_path,
        f"echo hi > {top}/file && cat {top}/file {top}/nested/f && ls / | grep -c bin",
        [Mount(str(data), top, False), Mount(str(inner), f"{top}/nested", False)],
    )
    assert (code, log.splitlines()[:2]) == (0, ["hi", "inner"])
    assert (data / "file").read_text() == "hi\n"
    assert not os.path.exists(top)


def test_a_program_that_does_not_exist_is_a_start_error(tmp_path: Path) -> None:
    launch = Launch(
        tmp_path, "main", ["no-such-program-x"], {"PATH": "/usr/bin:/bin"}, str(tmp_path), []
    )
    assert start(launch, "/dev/termination-log", restart=False).wait(timeout=30) == 128
    assert launch.start_error_file.read_text() == (
        'exec: "no-such-program-x": executable file not found in $PATH'
    )
