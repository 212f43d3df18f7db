"""The operator chart's pod-deletion guard, admitted and enforced by a real kube-apiserver.

RBAC grants the operator ``delete`` on pods (faults restart Cassandra nodes that way); the
chart's ValidatingAdmissionPolicy narrows it to a cqltest run's (or pool's) cass-operator node
pods. The test installs the chart's RBAC and policy, then deletes pods as the operator's
ServiceAccount (impersonated), and as the admin, whom the policy does not concern.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pyhelm3
import pytest
from cqltest.localkube.controlplane import ControlPlane

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]
CHARTS = Path(__file__).resolve().parents[2] / "charts"
KINDS = {
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}
NODE = {"app.kubernetes.io/managed-by": "cass-operator"}


def pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "cassandra:5.0"}]},
    }


def apply(control_plane: ControlPlane, namespace: str, objects: list[dict[str, Any]]) -> None:
    document = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=document)


async def test_the_operator_may_delete_only_labelled_cassandra_pods(
    control_plane: ControlPlane, namespace: str
) -> None:
    helm = pyhelm3.Client(executable=str(control_plane.helm), kubeconfig=control_plane.kubeconfig)
    release = f"guard-{uuid.uuid4().hex[:6]}"
    chart = await helm.get_chart(CHARTS / "cqltest-operator")
    rendered = [
        dict(obj)
        for obj in await helm.template_resources(chart, release, {}, namespace=namespace)
        if obj["kind"] in KINDS
    ]
    assert {obj["kind"] for obj in rendered} == KINDS
    [account] = [obj for obj in rendered if obj["kind"] == "ServiceAccount"]
    operator = f"system:serviceaccount:{namespace}:{account['metadata']['name']}"
    apply(control_plane, namespace, rendered)
    apply(
        control_plane,
        namespace,
        [
            pod("plain", {}),
            pod("run-node", {"cqltest.dev/testrun": "run", **NODE}),
            pod("pool-node", {"cqltest.dev/pool": "default", **NODE}),
            pod("run-test-pod", {"cqltest.dev/testrun": "run"}),
        ],
    )

    def delete(name: str, *, as_operator: bool = True, dry: bool = False) -> Any:
        args = ["delete", "pod", name, "-n", namespace, "--wait=false"]
        args += [f"--as={operator}"] if as_operator else []
        args += ["--dry-run=server"] if dry else []
        return control_plane.kubectl(*args, check=False)

    # The apiserver loads a new policy within a second or so: poll with dry runs (admission
    # runs for them too), so nothing is deleted before the policy is in force.
    deadline = time.monotonic() + 30
    refused = delete("plain", dry=True)
    while refused.returncode == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        refused = delete("plain", dry=True)
    assert refused.returncode != 0, "the policy never refused the operator"
    assert "may delete only a cqltest run's Cassandra node pods" in refused.stderr
    assert "pod plain is not one" in refused.stderr
    assert "pods is forbidden" not in refused.stderr  # RBAC allowed it: admission refused it

    not_a_node = delete("run-test-pod")
    assert not_a_node.returncode != 0
    assert "pod run-test-pod is not one" in not_a_node.stderr
    for allowed in ("run-node", "pool-node"):
        done = delete(allowed)
        assert done.returncode == 0, done.stderr
    assert delete("plain", as_operator=False).returncode == 0  # the admin is not concerned
    left = control_plane.kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.split()
    assert left == ["pod/run-test-pod"]
