"""The charts, rendered and linted by the real helm binary through pyhelm3, as the operator does.

For every example manifest the cluster chart must render the K8ssandraCluster the TestRun asks
for (version, datacenters, racks, heap, auth, encryption stores); the operator chart must carry
the checked-in CRD, RBAC for everything the operator touches, and the Deployment's probes. helm is
built by the install script; without it these tests fail saying how to build it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pyhelm3
import pytest
import yaml
from cqltest.cli.operator import operator as operator_command
from cqltest.engine.names import LABEL_TESTRUN
from cqltest.localkube.binaries import find_binaries
from cqltest.localkube.k8ssandra.translate import translate
from cqltest.model import ClusterSpec, TestRun, load_testrun
from cqltest.render.cluster import cluster_values, release_name
from cqltest.render.tls import secret_names

pytestmark = [pytest.mark.kube, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))
CRD = ROOT / "manifests" / "crds" / "testruns.cqltest.dev.yaml"
PEM_FACTORY = "org.apache.cassandra.security.PEMBasedSslContextFactory"


@pytest.fixture(scope="module")
def helm_path() -> Path:
    return find_binaries(names=("helm",))["helm"]


@pytest.fixture
def helm(helm_path: Path) -> pyhelm3.Client:
    return pyhelm3.Client(executable=str(helm_path))


async def render(
    helm: pyhelm3.Client, chart: str, values: dict[str, Any], *, crds: bool = False
) -> list[dict[str, Any]]:
    loaded = await helm.get_chart(CHARTS / chart)
    resources = await helm.template_resources(
        loaded, "rel", values, namespace="qa", include_crds=crds
    )
    return [dict(resource) for resource in resources]


def by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


@pytest.mark.parametrize("chart", ["cqltest-cluster", "cqltest-operator"])
def test_helm_lint_is_clean(helm_path: Path, chart: str) -> None:
    result = subprocess.run(
        [str(helm_path), "lint", "--strict", str(CHARTS / chart)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def example_values(run: TestRun) -> dict[str, Any]:
    cluster = run.spec.cluster
    return cluster_values(
        run.name, cluster, tls_secrets=secret_names(run.name, cluster), superuser_secret=None
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_every_example_renders_its_k8ssandracluster(helm: pyhelm3.Client, path: Path) -> None:
    run = load_testrun(path)
    cluster = run.spec.cluster
    values = example_values(run)
    objects = await render(helm, "cqltest-cluster", values)
    assert [obj["kind"] for obj in objects] == ["K8ssandraCluster"]
    k8c = objects[0]
    assert k8c["apiVersion"] == "k8ssandra.io/v1alpha1"
    assert k8c["metadata"]["name"] == values["clusterName"]
    assert k8c["metadata"]["labels"][LABEL_TESTRUN] == run.name
    spec = k8c["spec"]
    assert spec["auth"] is cluster.security.authentication
    cassandra = spec["cassandra"]
    assert cassandra["serverVersion"] == values["serverVersion"]
    assert cassandra["metadata"]["commonLabels"] == {LABEL_TESTRUN: run.name}
    assert "superuserSecretRef" not in cassandra  # K8ssandra generates <cluster>-superuser
    assert [
        (dc["metadata"]["name"], dc["size"], [r["name"] for r in dc.get("racks", [])])
        for dc in cassandra["datacenters"]
    ] == [(dc.name, dc.size, list(dc.racks or [])) for dc in cluster.datacenters]

    heap = (cluster.resources and cluster.resources.heap) or "512Mi"
    assert cassandra["config"]["jvmOptions"] == {"heap_initial_size": heap, "heap_max_size": heap}
    # softPodAntiAffinity needs cpu and memory, requests and limits (cass-operator's webhook).
    assert cassandra["softPodAntiAffinity"] is True
    resources = cassandra["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert resources["requests"]["memory"] == resources["limits"]["memory"]
    assert (resources["requests"]["cpu"], resources["limits"]["cpu"]) == ("500m", "1")
    claim = cassandra["storageConfig"]["cassandraDataVolumeClaimSpec"]
    assert claim["resources"]["requests"]["storage"] == "2Gi"

    cassandra_yaml = cassandra["config"]["cassandraYaml"]
    assert cassandra_yaml["auto_snapshot"] is False
    tls = cluster.security.tls
    for enabled, options, stores_field, suffix in (
        (tls.client, "client_encryption_options", "clientEncryptionStores", "client-stores"),
        (tls.internode, "server_encryption_options", "serverEncryptionStores", "internode-stores"),
    ):
        if not enabled:
            assert options not in cassandra_yaml
            assert stores_field not in cassandra
            continue
        assert cassandra_yaml[options]["ssl_context_factory"]["class_name"] == PEM_FACTORY
        ref = {"name": f"{run.name}-{suffix}"}
        assert cassandra[stores_field] == {"keystoreSecretRef": ref, "truststoreSecretRef": ref}
    if tls.client:
        assert cassandra_yaml["client_encryption_options"]["enabled"] is True
    if tls.internode:
        assert cassandra_yaml["server_encryption_options"]["internode_encryption"] == "all"


async def test_superuser_secret_owner_and_storage(helm: pyhelm3.Client) -> None:
    cluster = ClusterSpec.model_validate(
        {
            "datacenters": [{"name": "dc1", "size": 1}],
            "resources": {
                "storage": "5Gi",
                "storageClassName": "standard",
                "cpu": "500m",
                "heap": "1Gi",
            },
        }
    )
    owner = {"apiVersion": "cqltest.dev/v1alpha1", "kind": "TestRun", "name": "smoke", "uid": "u1"}
    values = cluster_values(
        "smoke",
        cluster,
        tls_secrets=None,
        superuser_secret=None,
        superuser_credentials=("admin", "s3cret"),
        owner=owner,
    )
    kinds = by_kind(await render(helm, "cqltest-cluster", values))
    (secret,) = kinds["Secret"]
    (k8c,) = kinds["K8ssandraCluster"]
    assert secret["metadata"]["name"] == "smoke-superuser"
    assert secret["stringData"] == {"username": "admin", "password": "s3cret"}
    cassandra = k8c["spec"]["cassandra"]
    assert cassandra["superuserSecretRef"] == {"name": "smoke-superuser"}
    for obj in (secret, k8c):
        assert obj["metadata"]["ownerReferences"] == [owner]
    claim = cassandra["storageConfig"]["cassandraDataVolumeClaimSpec"]
    assert claim["storageClassName"] == "standard"
    assert claim["resources"]["requests"]["storage"] == "5Gi"
    assert cassandra["resources"]["limits"] == {"cpu": "500m", "memory": "2304Mi"}
    assert cassandra["resources"]["requests"] == cassandra["resources"]["limits"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bogus": 1}, "additional properties 'bogus' not allowed"),
        ({"datacenters": [{"name": "dc1", "size": 0}]}, "minimum"),
        ({"datacenters": [{"name": "dc1", "size": 1, "racks": ["a"]}]}, "minLength"),
        ({"encryption": {"client": {"enabled": True}}}, "encryption.client.storesSecret"),
        ({"superuser": {"create": True}}, "superuser.username is required"),
    ],
)
async def test_bad_values_are_refused(
    helm: pyhelm3.Client, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(pyhelm3.errors.Error, match=message):
        await render(helm, "cqltest-cluster", values)


def test_release_names_are_valid_for_helm() -> None:
    assert release_name("smoke") == "cqltest-smoke"


def granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_operator_chart_crd_is_the_checked_in_one() -> None:
    assert (CHARTS / "cqltest-operator" / "crds" / CRD.name).read_text() == CRD.read_text(), (
        f"charts/cqltest-operator/crds is stale: cp {CRD.relative_to(ROOT)} "
        "charts/cqltest-operator/crds/"
    )


async def test_operator_chart_cluster_wide(helm: pyhelm3.Client) -> None:
    kinds = by_kind(await render(helm, "cqltest-operator", {}, crds=True))
    assert set(kinds) == {
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
    assert kinds["CustomResourceDefinition"] == [yaml.safe_load(CRD.read_text())]

    roles = {role["metadata"]["name"]: role for role in kinds["ClusterRole"]}
    role, observer = roles["rel-cqltest-operator"], roles["rel-cqltest-operator-observer"]
    assert granted(observer) == {
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
    }
    needed = [
        ("cqltest.dev", "testruns", "watch"),
        ("cqltest.dev", "testruns", "patch"),
        ("cqltest.dev", "testruns/status", "patch"),
        ("cqltest.dev", "testruns/finalizers", "update"),
        ("batch", "jobs", "create"),
        ("batch", "jobs", "patch"),
        ("batch", "jobs", "delete"),
        ("", "pods", "list"),
        ("", "pods", "delete"),
        ("networking.k8s.io", "networkpolicies", "create"),
        ("networking.k8s.io", "networkpolicies", "delete"),
        ("", "pods/log", "get"),
        ("", "configmaps", "create"),
        ("", "configmaps", "patch"),
        ("", "secrets", "create"),
        ("", "events", "create"),
        ("", "services", "get"),
        ("", "endpoints", "get"),
        ("k8ssandra.io", "k8ssandraclusters", "create"),
        ("k8ssandra.io", "k8ssandraclusters", "watch"),
        ("k8ssandra.io", "k8ssandraclusters", "delete"),
    ]
    assert [n for n in needed if n not in granted(role)] == []
    assert not any(resource == "leases" for _, resource, _ in granted(role))  # no peering

    (account,) = kinds["ServiceAccount"]
    for binding in kinds["ClusterRoleBinding"]:
        assert binding["roleRef"]["name"] in roles
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "qa"}
        ]
    assert {b["roleRef"]["name"] for b in kinds["ClusterRoleBinding"]} == set(roles)

    (deployment,) = kinds["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    (container,) = pod["containers"]
    assert container["command"] == ["cqltest"]
    assert container["args"] == ["operator", "--liveness-port=8080", "--metrics-port=9090"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True

    (service,) = kinds["Service"]
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]


async def test_operator_chart_namespaced_with_service_monitor(helm: pyhelm3.Client) -> None:
    values = {
        "watch": {"namespaces": ["qa", "ci"]},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "defaultSuiteImage": "registry.example/suites:1",
        "extraArgs": ["--verbose"],
    }
    kinds = by_kind(await render(helm, "cqltest-operator", values))
    assert "ValidatingAdmissionPolicy" in kinds
    unguarded = {**values, "podDeletionGuard": {"enabled": False}}
    assert "ValidatingAdmissionPolicy" not in by_kind(
        await render(helm, "cqltest-operator", unguarded)
    )
    # Only kopf's read-only observer is bound cluster-wide; the operator's role per namespace.
    assert [b["roleRef"]["name"] for b in kinds["ClusterRoleBinding"]] == [
        "rel-cqltest-operator-observer"
    ]
    assert sorted(b["metadata"]["namespace"] for b in kinds["RoleBinding"]) == ["ci", "qa"]
    (deployment,) = kinds["Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == [
        "operator",
        "--namespace=qa",
        "--namespace=ci",
        "--liveness-port=8080",
        "--metrics-port=9090",
        "--default-image=registry.example/suites:1",
        "--verbose",
    ]
    # The real `cqltest operator` command accepts exactly what the chart passes.
    params = operator_command.make_context("operator", args[1:]).params
    assert params["namespaces"] == ("qa", "ci")
    assert (params["liveness_port"], params["metrics_port"]) == (8080, 9090)
    assert params["default_image"] == "registry.example/suites:1"
    (monitor,) = kinds["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]
    (service,) = kinds["Service"]
    assert all(
        service["metadata"]["labels"][k] == v
        for k, v in monitor["spec"]["selector"]["matchLabels"].items()
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_localkube_serves_what_the_chart_renders(helm: pyhelm3.Client, path: Path) -> None:
    """localkube's K8ssandra stand-in reads the rendered cluster as the TestRun meant it."""
    run = load_testrun(path)
    cluster = run.spec.cluster
    (k8c,) = await render(helm, "cqltest-cluster", example_values(run))
    plan = translate({**k8c, "metadata": {**k8c["metadata"], "namespace": "qa"}})
    assert [(dc.cassandra_name, dc.size, list(dc.racks)) for dc in plan.datacenters] == [
        (dc.name, dc.size, list(dc.racks or ["default"])) for dc in cluster.datacenters
    ]
    assert plan.authentication is cluster.security.authentication
    tls = cluster.security.tls
    stores = {"client": plan.client_stores, "internode": plan.internode_stores}
    for kind, enabled in (("client", tls.client), ("internode", tls.internode)):
        ref = stores[kind]
        if not enabled:
            assert ref is None
            continue
        assert ref is not None
        secret = f"{run.name}-{kind}-stores"
        assert (ref.keystore.secret, ref.keystore.key) == (secret, "keystore")
        assert (ref.keystore_password.secret, ref.keystore_password.key) == (
            secret,
            "keystore-password",
        )
        assert (ref.truststore.secret, ref.truststore.key) == (secret, "truststore")
