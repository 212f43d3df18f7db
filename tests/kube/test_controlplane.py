"""The control-plane launcher itself: versions, loud failures, and a clean stop.

If the launcher hid a missing binary or a crashed process, every operator test would fail
later with a confusing connection error; these tests pin the promised messages instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from controlplane import INSTALL_HINT, ControlPlane, ControlPlaneError, find_binaries
from cqltest.errors import SetupError

pytestmark = [pytest.mark.kube, pytest.mark.timeout(120)]


def test_missing_binaries_name_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(SetupError) as missing:
        find_binaries(tmp_path)
    message = str(missing.value)
    assert INSTALL_HINT in message
    assert "kube-apiserver" in message
    assert str(tmp_path) in message


def test_kubectl_matches_the_apiserver_version(control_plane: ControlPlane) -> None:
    versions = json.loads(control_plane.kubectl("version", "-o", "json").stdout)
    client, server = versions["clientVersion"], versions["serverVersion"]
    assert server["gitVersion"].startswith("v1.")
    assert client["gitVersion"] == server["gitVersion"]


def test_core_namespaces_exist(control_plane: ControlPlane) -> None:
    names = control_plane.kubectl("get", "ns", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(names)


def test_a_process_that_dies_at_start_reports_its_log_tail() -> None:
    with pytest.raises(ControlPlaneError) as failed:
        ControlPlane.start(extra_etcd_args=["--no-such-flag"])
    message = str(failed.value)
    assert message.startswith("etcd exited with code")
    assert "no-such-flag" in message


def test_stop_terminates_both_processes_and_removes_files() -> None:
    plane = ControlPlane.start()
    processes = list(plane.processes)
    assert [p.name for p in processes] == ["etcd", "kube-apiserver"]
    assert plane.kubeconfig.exists()
    plane.stop()
    assert not any(p.alive() for p in processes)
    assert not plane.root.exists()


def test_a_non_admin_user_goes_through_rbac(control_plane: ControlPlane, namespace: str) -> None:
    kubeconfig = control_plane.kubeconfig_for("cqltest-operator", groups=["cqltest:operators"])

    def can_i(verb: str, resource: str) -> str:
        result = control_plane.kubectl(
            "auth", "can-i", verb, resource, "-n", namespace, kubeconfig=kubeconfig, check=False
        )
        return result.stdout.strip()

    assert can_i("list", "configmaps") == "no"
    denied = control_plane.kubectl(
        "get", "configmaps", "-n", namespace, kubeconfig=kubeconfig, check=False
    )
    assert denied.returncode != 0
    assert 'User "cqltest-operator" cannot list resource "configmaps"' in denied.stderr

    control_plane.kubectl("create", "role", "reader", "-n", namespace, "--verb=get,list",
                          "--resource=configmaps")  # fmt: skip
    control_plane.kubectl("create", "rolebinding", "reader", "-n", namespace, "--role=reader",
                          "--group=cqltest:operators")  # fmt: skip
    assert can_i("list", "configmaps") == "yes"
    assert can_i("delete", "configmaps") == "no"
