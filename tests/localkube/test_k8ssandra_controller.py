"""The K8ssandra stand-in's controller in this process, on its own control plane.

etcd + apiserver only (no node agent is needed: the stand-in's Pods are its own), so a
controller can be stopped mid-life, or a start made to fail, without disturbing the session's
localkube.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from agentkit import wait_for
from cqltest.errors import ClusterError
from cqltest.local import LocalCluster, nodes
from cqltest.localkube.agent.api import Api
from cqltest.localkube.controlplane import ControlPlane
from cqltest.localkube.k8ssandra import crd
from cqltest.localkube.k8ssandra.controller import Controller
from cqltest.localkube.k8ssandra.status import cluster_ready
from cqltest.localkube.k8ssandra.translate import local_name

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(300)]

PATH = "/apis/k8ssandra.io/v1alpha1/namespaces/default/k8ssandraclusters/resumed"
POD = "/api/v1/namespaces/default/pods/resumed-dc1-default-sts-0"
MANIFEST = {
    "apiVersion": "k8ssandra.io/v1alpha1",
    "kind": "K8ssandraCluster",
    "metadata": {"name": "resumed", "namespace": "default"},
    "spec": {
        "auth": False,
        "cassandra": {
            "serverVersion": "5.0.9",
            "storageConfig": {"cassandraDataVolumeClaimSpec": {}},
            "datacenters": [{"metadata": {"name": "dc1"}, "size": 1}],
        },
    },
}


class Running:
    """A controller serving in a thread of this process."""

    def __init__(self, api: Api, root: Path) -> None:
        self.controller = Controller(api, "localkube", root)
        self.thread = threading.Thread(target=self.controller.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.controller.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture(scope="module")
def plane() -> Iterator[tuple[ControlPlane, Api]]:
    with ControlPlane.start() as control_plane:
        control_plane.kubectl("create", "serviceaccount", "default")
        api = Api(str(control_plane.kubeconfig))
        api.request(
            "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd.manifest()
        )
        wait_for("the CRD served", lambda: api.get_or_none(f"/apis/{crd.GROUP}/{crd.VERSION}"))
        try:
            yield control_plane, api
        finally:
            api.close()


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """The controllers' state directory; whatever a failing test leaves there is destroyed."""
    try:
        yield tmp_path
    finally:
        for cluster in LocalCluster.list(tmp_path / "cassandra"):
            cluster.destroy()


def _get(api: Api, path: str) -> dict[str, Any]:
    return api.get_or_none(path) or {}


def test_a_restarted_controller_adopts_its_running_cluster_and_serves_its_deletion(
    plane: tuple[ControlPlane, Api], root: Path
) -> None:
    control_plane, api = plane
    first = Running(api, root)
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(MANIFEST))
    wait_for("ready", lambda: cluster_ready(_get(api, PATH)) or None, timeout=180)
    first.stop()
    directory = root / "cassandra" / local_name("default", "resumed")
    pid = nodes.find_pid(str(directory))
    assert pid is not None  # the nodes outlive the controller
    pod_uid = _get(api, POD)["metadata"]["uid"]

    second = Running(api, root)
    try:
        # adopted: a deleted node Pod restarts the node it did not start itself
        control_plane.kubectl("delete", "pod", "resumed-dc1-default-sts-0", "--wait=false")

        def recreated() -> bool:
            pod = _get(api, POD)
            conditions = {
                c["type"]: c["status"] for c in pod.get("status", {}).get("conditions", [])
            }
            return pod.get("metadata", {}).get("uid") not in (None, pod_uid) and (
                conditions.get("Ready") == "True"
            )

        wait_for("the node Pod recreated and Ready", recreated, timeout=120)
        new_pid = nodes.find_pid(str(directory))
        assert new_pid is not None
        assert new_pid != pid
        control_plane.kubectl("delete", "k8c", "resumed", "--wait=false")
        wait_for("the object gone", lambda: api.get_or_none(PATH) is None, timeout=60)
        assert nodes.find_pid(str(directory)) is None
        assert not directory.exists()
        assert api.get_or_none(POD) is None
    finally:
        second.stop()


def test_a_cluster_that_fails_to_start_reports_the_error_and_is_removed(
    plane: tuple[ControlPlane, Api], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    control_plane, api = plane

    def died(self: LocalCluster, *args: Any, **kwargs: Any) -> None:
        raise ClusterError("node node1 (127.0.9.1) died while starting\nERROR [main] it broke")

    monkeypatch.setattr(LocalCluster, "start", died)
    running = Running(api, root)
    try:
        control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(MANIFEST))

        def error() -> str | None:
            message = (_get(api, PATH).get("status") or {}).get("error")
            return message if message and message != "None" else None

        message = wait_for("status.error", error, timeout=60)
        assert message.endswith("died while starting\nERROR [main] it broke")
        assert _get(api, PATH)["status"]["observedGeneration"] == 1
        # nothing is left to retry with until the spec changes
        assert not (root / "cassandra" / local_name("default", "resumed")).exists()
    finally:
        running.stop()
