"""What the charts render, a real apiserver admits: server-side dry-run, and one real install.

`helm template` only proves the YAML is well formed. The apiserver also checks the objects against
the K8ssandraCluster CRD localkube serves (the contract of `reference/k8ssandra.md`), the TestRun
CRD, and the built-in kinds, exactly as it will when the operator installs a run's release.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyhelm3
import pytest
from cqltest.localkube.controlplane import ControlPlane
from cqltest.model import load_testrun
from cqltest.render.cluster import cluster_values, release_name
from cqltest.render.tls import secret_names, tls_secrets
from kubernetes import client

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))


@pytest.fixture
def helm(control_plane: ControlPlane) -> pyhelm3.Client:
    return pyhelm3.Client(executable=str(control_plane.helm), kubeconfig=control_plane.kubeconfig)


def dry_run(control_plane: ControlPlane, namespace: str, objects: list[dict[str, Any]]) -> str:
    document = {"apiVersion": "v1", "kind": "List", "items": objects}
    result = control_plane.kubectl(
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(document),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_every_example_passes_server_side_dry_run(
    control_plane: ControlPlane, crds: None, helm: pyhelm3.Client, namespace: str, path: Path
) -> None:
    run = load_testrun(path)
    cluster = run.spec.cluster
    values = cluster_values(
        run.name,
        cluster,
        tls_secrets=secret_names(run.name, cluster),
        superuser_secret=None,
        superuser_credentials=("admin", "secret") if cluster.security.authentication else None,
    )
    chart = await helm.get_chart(CHARTS / "cqltest-cluster")
    rendered = [
        dict(obj)
        for obj in await helm.template_resources(
            chart, release_name(run.name), values, namespace=namespace
        )
    ]
    secrets = tls_secrets(run.name, namespace, cluster)
    out = dry_run(control_plane, namespace, secrets + rendered)
    assert f"k8ssandracluster.k8ssandra.io/{values['clusterName']} created (server dry run)" in out


async def test_operator_chart_passes_server_side_dry_run(
    control_plane: ControlPlane, crds: None, helm: pyhelm3.Client, namespace: str
) -> None:
    chart = await helm.get_chart(CHARTS / "cqltest-operator")
    for values in ({}, {"watch": {"namespaces": [namespace]}}):
        rendered = [
            dict(obj)
            for obj in await helm.template_resources(chart, "cqltest", values, namespace=namespace)
        ]
        out = dry_run(control_plane, namespace, rendered)
        assert "deployment.apps/cqltest-cqltest-operator created (server dry run)" in out


async def test_a_run_release_installs_and_uninstalls(
    control_plane: ControlPlane, crds: None, helm: pyhelm3.Client, namespace: str, kube_api: Any
) -> None:
    run = load_testrun(ROOT / "manifests" / "examples" / "multi-dc.yaml")
    cluster = run.spec.cluster
    names = secret_names(run.name, cluster)
    assert names is not None
    secrets = tls_secrets(run.name, namespace, cluster)
    control_plane.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": secrets}),
    )
    values = cluster_values(run.name, cluster, tls_secrets=names, superuser_secret=None)
    chart = await helm.get_chart(CHARTS / "cqltest-cluster")
    release = release_name(run.name)
    revision = await helm.install_or_upgrade_release(
        release, chart, values, namespace=namespace, wait=False
    )
    assert revision.revision == 1
    again = await helm.install_or_upgrade_release(
        release, chart, values, namespace=namespace, wait=False
    )
    assert again.revision == 2  # an operator restarted mid-install simply installs again

    custom = client.CustomObjectsApi(kube_api)
    k8c: Any = custom.get_namespaced_custom_object(
        "k8ssandra.io", "v1alpha1", namespace, "k8ssandraclusters", values["clusterName"]
    )
    stores = k8c["spec"]["cassandra"]["clientEncryptionStores"]
    assert stores["keystoreSecretRef"] == {"name": names.client}
    assert [dc["size"] for dc in k8c["spec"]["cassandra"]["datacenters"]] == [2, 1]

    await helm.uninstall_release(release, namespace=namespace, wait=False)
    listed: Any = custom.list_namespaced_custom_object(
        "k8ssandra.io", "v1alpha1", namespace, "k8ssandraclusters"
    )
    assert [
        item["metadata"]["name"]
        for item in listed["items"]
        if not item["metadata"].get("deletionTimestamp")
    ] == []
