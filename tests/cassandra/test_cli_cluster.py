"""The ``cqltest cluster`` CLI as a user runs it: separate processes sharing one cluster home.

The error cases that need no running node are cheap; the ones that do (address in use, a node
that dies at start) reuse the one 1-node cluster of the end-to-end test instead of starting more.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(600)]

CQLTEST = str(Path(sys.executable).with_name("cqltest"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CQLTEST_HOME": str(home), **(env or {})}
    return subprocess.run(
        [CQLTEST, "cluster", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=400,
        check=False,
    )


def assert_input_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def assert_nothing_created(home: Path) -> None:
    clusters = home / "clusters"
    assert not clusters.exists() or not any(clusters.iterdir())


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--dcs", "dc1:x"], ["--dcs 'dc1:x'", "NAME:NODES"]),
        (["--dcs", "dc1:3,dc1:2"], ["'dc1'", "twice"]),
        (["--dcs", "dc1:0"], ["'dc1'", "at least 1"]),
        (["--racks", "0"], ["--racks 0"]),
        (["--name", "Bad Name!"], ["--name 'Bad Name!'"]),
        (["--heap", "12"], ["heap '12'"]),
        (["--version", "4.1.5"], ["--version '4.1.5'", "5.0.x"]),
    ],
)
def test_bad_input_exits_2(home: Path, args: list[str], fragments: list[str]) -> None:
    assert_input_error(cli(home, "up", *args), *fragments)
    assert_nothing_created(home)


def test_unknown_version_exits_2(home: Path) -> None:
    result = cli(home, "up", "--version", "5.0.999")
    assert_input_error(result, "5.0.999", "unknown")
    assert_nothing_created(home)


@pytest.mark.parametrize("java_home", ["", "/nonexistent/jdk"])
def test_no_java_exits_2(home: Path, tmp_path: Path, java_home: str) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = cli(home, "up", env={"PATH": str(empty), "JAVA_HOME": java_home})
    assert_input_error(result, "JDK 17")
    assert_nothing_created(home)


def test_no_maven_exits_2(home: Path, tmp_path: Path) -> None:
    """Jars not cached yet and no Maven to fetch them: say so, create nothing."""
    java = shutil.which("java")
    assert java is not None
    only_java = tmp_path / "bin"
    only_java.mkdir()
    (only_java / "java").symlink_to(java)
    env = {"PATH": str(only_java), "JAVA_HOME": "", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert_input_error(cli(home, "up", env=env), "Maven ('mvn') is not on PATH")
    assert_nothing_created(home)


def test_install_is_idempotent(home: Path) -> None:
    """``make jars``: the second run finds the jars and the CDS archive and fetches nothing."""
    first = cli(home, "install")
    assert first.returncode == 0, first.stderr
    second = cli(home, "install")
    assert second.returncode == 0, second.stderr
    assert "jars in" in second.stderr
    assert ".jsa" in second.stderr
    assert_nothing_created(home)


def test_unknown_cluster_exits_2(home: Path) -> None:
    assert_input_error(cli(home, "status", "--name", "nope"), "'nope' does not exist")
    assert_input_error(cli(home, "kill", "node1", "--name", "nope"), "'nope' does not exist")


def test_up_status_kill_start_down(home: Path) -> None:
    """One 1-node cluster through its whole CLI life, with the two node-level error cases."""
    up = cli(home, "up", "--name", "e2e", "--output", "json")
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout)
    assert set(info) == {
        "name",
        "contact_points",
        "port",
        "datacenters",
        "username",
        "password",
        "ca_path",
    }
    assert info["name"] == "e2e"
    assert info["port"] == 9042
    assert info["username"] is None
    assert info["password"] is None
    assert info["ca_path"] is None
    (address,) = info["contact_points"]
    assert info["datacenters"] == {"dc1": [address]}
    try:
        status = json.loads(cli(home, "status", "--name", "e2e", "--output", "json").stdout)
        assert [n["status"] for n in status["nodes"]] == ["UP"]
        listed = json.loads(cli(home, "list", "--output", "json").stdout)
        assert [(c["name"], c["up"]) for c in listed] == [("e2e", 1)]

        # `up` again is idempotent for the same shape, and refuses a different one.
        again = cli(home, "up", "--name", "e2e", "--output", "json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == info
        other = cli(home, "up", "--name", "e2e", "--dcs", "dc1:2")
        assert_input_error(other, "'e2e' already exists", "--dcs dc1:1")

        assert cli(home, "kill", address, "--name", "e2e").returncode == 0
        status = json.loads(cli(home, "status", "--name", "e2e", "--output", "json").stdout)
        assert [n["status"] for n in status["nodes"]] == ["DOWN"]

        # Someone else took the node's CQL address while it was down.
        with socket.socket() as squatter:
            squatter.bind((address, 9042))
            squatter.listen()
            assert_input_error(cli(home, "start", "node1", "--name", "e2e"), f"{address}:9042")

        # A node that dies at start: an invalid setting makes Cassandra exit at once.
        yaml_path = home / "clusters" / "e2e" / "node1" / "conf" / "cassandra.yaml"
        good = yaml_path.read_text()
        yaml_path.write_text(good + "\nnot_a_cassandra_setting: 1\n")
        died = cli(home, "start", "node1", "--name", "e2e")
        assert_input_error(died, "died while starting", "not_a_cassandra_setting")
        yaml_path.write_text(good)

        assert cli(home, "start", "node1", "--name", "e2e").returncode == 0
        status = json.loads(cli(home, "status", "--name", "e2e", "--output", "json").stdout)
        assert [n["status"] for n in status["nodes"]] == ["UP"]
        table = cli(home, "status", "--name", "e2e")
        assert "UP" in table.stdout
        assert address in table.stdout
    finally:
        down = cli(home, "down", "--name", "e2e")
    assert down.returncode == 0, down.stderr
    assert_nothing_created(home)
    assert not any("CassandraDaemon" in p and str(home) in p for p in _process_lines()), (
        "a node of the removed cluster is still running"
    )


def _process_lines() -> list[str]:
    ps = shutil.which("ps")
    assert ps is not None
    return subprocess.run(
        [ps, "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
