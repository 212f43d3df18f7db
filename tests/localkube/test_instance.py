"""localkube's lifecycle: side by side, a clean `down`, reaping, and the CLI's contract.

Every check looks at real processes: a `down` that left an etcd or a node agent running would
keep ports and CPU on a machine shared with other runs, and nothing else would notice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from cqltest.cli.app import main
from cqltest.localkube import instance
from cqltest.localkube.binaries import find_binaries
from cqltest.localkube.errors import ComponentError
from cqltest.localkube.instance import Localkube

pytestmark = [pytest.mark.kube, pytest.mark.timeout(240)]

COMPONENTS = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    instance.AGENT,
    instance.K8SSANDRA,
]


def naming(directory: Path) -> list[str]:
    """Live processes whose command line names ``directory`` (every component's does)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(directory) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(f"{cmdline[:120]} (pid {proc.info['pid']})")
    return found


def leftovers(local: Localkube) -> list[str]:
    """Recorded components still alive, and any process naming the localkube's directory."""
    return [f"{p.name} (pid {p.pid})" for p in local.processes if p.alive()] + naming(local.root)


def test_the_session_localkube_runs_every_component(localkube: Localkube) -> None:
    assert [p.name for p in localkube.processes] == COMPONENTS
    assert all(p.alive() for p in localkube.processes)
    info = localkube.info()
    assert info["state"] == "running"
    nodes = localkube.kubectl("get", "nodes", "-o", "name").stdout.split()
    assert nodes == [f"node/{localkube.node}"]
    accounts = localkube.kubectl("get", "serviceaccount", "-n", "default", "-o", "name")
    assert "serviceaccount/default" in accounts.stdout.split()


def test_two_localkubes_side_by_side_and_down_leaves_no_process(
    localkube: Localkube, localkube_root: Path
) -> None:
    second = instance.up("second", owned=True, root=localkube_root)
    try:
        assert second.server != localkube.server
        assert second.root != localkube.root
        assert set(second.ports.values()).isdisjoint(localkube.ports.values())
        for local in (localkube, second):
            nodes = local.kubectl("get", "nodes", "-o", "name").stdout.split()
            assert nodes == [f"node/{local.node}"]
        names = {local.name for local in instance.list_instances(localkube_root)}
        assert {"localkube", "second"} <= names
    finally:
        instance.down("second", localkube_root)
    assert leftovers(second) == []
    assert not second.root.exists()
    assert localkube.info()["state"] == "running"  # the other one is untouched


def test_a_localkube_whose_owner_was_killed_is_reaped(localkube_root: Path) -> None:
    # The owner starts a localkube, reports it, and dies as a killed pytest would.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from cqltest.localkube import instance
        local = instance.up("orphan", owned=True, root=Path({str(localkube_root)!r}))
        print(local.root, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    owner = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=False
    )
    assert owner.returncode == -9, owner.stderr
    directory = Path(owner.stdout.strip())
    orphan = instance.load("orphan", localkube_root)
    assert all(p.alive() for p in orphan.processes)  # components outlive their owner...
    reaped = instance.reap_orphans(localkube_root)
    assert str(directory) in reaped  # ...until the next reap
    assert leftovers(orphan) == []
    assert not directory.exists()


def test_a_component_that_exits_at_start_is_named_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real binaries, except a scheduler that dies at once, as a bad build or flag would.
    bins = tmp_path / "bin"
    bins.mkdir()
    for binary in find_binaries().values():
        (bins / binary.name).symlink_to(binary.resolve())
    (bins / "kube-scheduler").unlink()
    (bins / "kube-scheduler").write_text("#!/bin/sh\necho 'scheduler: boom' >&2\nexit 3\n")
    (bins / "kube-scheduler").chmod(0o755)
    monkeypatch.setenv("CQLTEST_KUBE_BIN", str(bins))
    root = tmp_path / "root"
    with pytest.raises(ComponentError) as failed:
        instance.up("broken", owned=True, root=root)
    assert failed.value.component == "kube-scheduler"
    assert str(failed.value).startswith("kube-scheduler exited with code 3 while starting")
    assert "scheduler: boom" in failed.value.log_tail
    assert not (root / "broken").exists()
    assert naming(root / "broken") == []


def test_a_bad_name_exits_2_naming_the_flag_value_and_rule() -> None:
    result = CliRunner().invoke(main, ["localkube", "up", "--name", "Not_A_Label"])
    assert result.exit_code == 2
    assert "--name 'Not_A_Label' is not valid" in result.output
    assert "DNS label" in result.output


def test_cli_up_prints_json_and_a_second_up_of_the_name_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "CQLTEST_HOME": str(tmp_path)}
    cli = [str(Path(sys.executable).parent / "cqltest")]

    def cqltest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, "localkube", *args], env=env, capture_output=True, text=True, timeout=180,
            check=False,
        )  # fmt: skip

    started = cqltest("up", "--name", "cli", "--output", "json")
    try:
        assert started.returncode == 0, started.stderr
        info = json.loads(started.stdout)
        assert info["name"] == "cli"
        assert info["node"] == "cli"
        assert info["server"].startswith("https://127.0.0.1:")
        kubeconfig = Path(info["kubeconfig"])
        assert kubeconfig.is_absolute()
        assert kubeconfig.is_file()
        again = cqltest("up", "--name", "cli")
        assert again.returncode == 2
        assert "already running" in again.stderr
        listed = json.loads(cqltest("list", "--output", "json").stdout)
        assert [entry["name"] for entry in listed] == ["cli"]
        status = json.loads(cqltest("status", "--name", "cli", "-o", "json").stdout)
        # The CLI serves TestRuns too unless told --no-operator.
        assert [c["name"] for c in status["components"]] == [*COMPONENTS, "cqltest-operator"]
        assert all(c["alive"] for c in status["components"]), status
    finally:
        stopped = cqltest("down", "--name", "cli")
    assert stopped.returncode == 0, stopped.stderr
    assert not (tmp_path / "localkube" / "cli").exists()
    assert cqltest("status", "--name", "cli").returncode == 2


def test_install_is_the_make_step_and_idempotent() -> None:
    # The binaries are built already (make test depends on it): a second run only checks them.
    result = CliRunner().invoke(main, ["localkube", "install"])
    assert result.exit_code == 0, result.output
    assert f"control-plane binaries ready in {find_binaries()['etcd'].parent}" in result.output
