"""localkube's pure parts: names, arguments, the state file, process identity, readiness rules.

No Kubernetes binary runs here; the processes are `sleep`s, which is all identity and stopping
look at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cqltest.errors import InputError, SetupError
from cqltest.local.state import Owner
from cqltest.localkube import controlplane, instance, processes
from cqltest.localkube.binaries import INSTALL_HINT, find_binaries, install_script
from cqltest.localkube.errors import ComponentError
from cqltest.localkube.pki import Pki


@pytest.mark.parametrize("name", ["localkube", "a", "lk-2", "x" * 63, "0abc"])
def test_dns_labels_are_valid_names(name: str) -> None:
    instance.validate_name(name)


@pytest.mark.parametrize("name", ["", "Bad", "-a", "a-", "a_b", "a.b", "x" * 64, "a/b"])
def test_other_names_are_input_errors_naming_flag_value_and_rule(name: str) -> None:
    with pytest.raises(InputError) as bad:
        instance.validate_name(name)
    message = str(bad.value)
    assert message.startswith(f"--name {name!r} is not valid")
    assert "DNS label" in message
    assert bad.value.exit_code == 2


def test_missing_binaries_are_a_setup_error_with_the_install_command(tmp_path: Path) -> None:
    (tmp_path / "etcd").write_text("")
    (tmp_path / "etcd").chmod(0o755)
    with pytest.raises(SetupError) as missing:
        find_binaries(tmp_path)
    message = str(missing.value)
    assert INSTALL_HINT in message
    assert "cqltest localkube install" in message
    assert "kube-scheduler" in message
    assert "etcd," not in message


def test_the_install_script_is_found_from_the_checkout() -> None:
    assert install_script().read_text().startswith("#!/usr/bin/env bash")


def test_apiserver_arguments_serve_pods_without_kubelet_or_token_volumes(tmp_path: Path) -> None:
    pki = Pki.at(tmp_path)
    argv = controlplane.apiserver_args(
        Path("/bin/kube-apiserver"), pki, etcd_url="http://127.0.0.1:1", port=6443,
        cert_dir=tmp_path,
    )  # fmt: skip
    assert "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition" in argv
    assert "--kubelet-preferred-address-types=InternalIP" in argv
    assert "--service-account-issuer=https://127.0.0.1:6443/" in argv
    assert not any(arg.startswith("--kubelet-certificate-authority") for arg in argv)


def test_controllers_run_without_leader_election_on_their_own_ports(tmp_path: Path) -> None:
    kcm = controlplane.controller_manager_args(Path("kcm"), tmp_path / "k", 4000, tmp_path)
    scheduler = controlplane.scheduler_args(Path("sched"), tmp_path / "k", 4001, tmp_path)
    for argv in (kcm, scheduler):
        assert "--leader-elect=false" in argv
        assert f"--kubeconfig={tmp_path / 'k'}" in argv
    assert "--secure-port=4000" in kcm
    assert "--secure-port=4001" in scheduler
    controllers = next(a for a in kcm if a.startswith("--controllers=")).split("=")[1].split(",")
    assert {"job-controller", "garbage-collector-controller", "ttl-after-finished-controller",
            "namespace-controller", "serviceaccount-controller"} <= set(controllers)  # fmt: skip


def test_the_state_file_round_trips(tmp_path: Path) -> None:
    local = instance.Localkube(
        tmp_path, {"etcd": Path("/bin/etcd")}, Pki.at(tmp_path / "pki"), "https://127.0.0.1:1",
        tmp_path / "admin.kubeconfig", ports={"kube-apiserver": 1},
        processes=[processes.Process("etcd", 10, 20, tmp_path / "etcd.log")],
        name="lk", node="lk", owner=Owner(1, 2), created="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    local.save()
    assert instance._read(tmp_path / instance.STATE_FILE) == local


def test_a_node_is_schedulable_without_taints_cordon_or_zero_pods() -> None:
    ready = {"spec": {}, "status": {"allocatable": {"pods": "110"}}}
    assert instance.node_schedulable(ready)
    assert not instance.node_schedulable({**ready, "spec": {"unschedulable": True}})
    tainted = {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}
    assert not instance.node_schedulable({**ready, "spec": tainted})
    assert not instance.node_schedulable({"spec": {}, "status": {"allocatable": {"pods": "0"}}})
    assert not instance.node_schedulable({"spec": {}, "status": {}})


def test_a_process_is_known_by_pid_and_start_time_and_stopped_with_its_group(
    tmp_path: Path,
) -> None:
    # The shell forks a child sleep into its group: stopping the component must reach it too.
    child_file = tmp_path / "child"
    process = processes.spawn(
        "sleeper", ["sh", "-c", f"sleep 60 & echo $! > {child_file}; wait"],
        tmp_path / "sleeper.log",
    )  # fmt: skip
    assert process.alive()
    assert not processes.Process("sleeper", process.pid, process.started + 1, process.log).alive()
    deadline = time.monotonic() + 5
    while not (child_file.exists() and child_file.read_text().strip()):
        assert time.monotonic() < deadline, "the shell never started its child"
        time.sleep(0.05)
    child = Owner.of(int(child_file.read_text()))
    assert child is not None
    assert os.getpgid(process.pid) == process.pid
    process.stop(grace=5)
    assert not process.alive()
    assert process.wait(0)
    assert not child.alive()


def test_a_component_that_exits_is_reported_with_its_name_and_log(tmp_path: Path) -> None:
    process = processes.spawn(
        "etcd", [sys.executable, "-c", "print('bad flag --x'); raise SystemExit(3)"],
        tmp_path / "etcd.log",
    )  # fmt: skip
    with pytest.raises(ComponentError) as failed:
        processes.wait_healthy(process, lambda: False, timeout=10)
    assert failed.value.component == "etcd"
    assert str(failed.value).startswith("etcd exited with code 3 while starting")
    assert "bad flag --x" in failed.value.log_tail


def test_recorded_pod_groups_are_killed(tmp_path: Path) -> None:
    pod = subprocess.Popen(["sleep", "60"], start_new_session=True)
    pgid_file = tmp_path / "pods" / "uid" / "main.pgid"
    pgid_file.parent.mkdir(parents=True)
    pgid_file.write_text(f"{pod.pid}\n")
    (tmp_path / "pods" / "uid" / "junk.pgid").write_text("not a number")
    processes.kill_groups(sorted(tmp_path.glob("pods/*/*.pgid")))
    assert pod.wait(timeout=5) == -signal.SIGKILL
