"""Chart values from a TestRun's cluster spec: names that fit K8ssandra's limits, every field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cqltest.engine.names import label_value
from cqltest.errors import InputError
from cqltest.local.jars import DEFAULT_VERSION
from cqltest.model import ClusterSpec, TestRun, load_testrun
from cqltest.render import cluster as render
from cqltest.render.cluster import TlsSecrets, cluster_values
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TLS = TlsSecrets(ca="run-ca", client="run-client-stores", internode="run-internode-stores")


def provisioned(path: Path) -> TestRun:
    run = load_testrun(path)
    assert run.spec.cluster.existing is None
    return run


def spec(**cluster: object) -> ClusterSpec:
    return ClusterSpec.model_validate({"datacenters": [{"name": "dc1", "size": 1}], **cluster})


def assert_names_fit(name: str, cluster: ClusterSpec) -> None:
    assert DNS_1035.match(name), name
    for dc in cluster.datacenters:
        assert len(f"{name}-{dc.name}{render.LONGEST_DC_SERVICE_SUFFIX}") <= 63
        for rack in dc.racks or [render.DEFAULT_RACK]:
            assert len(f"{name}-{dc.name}-{rack}-sts") <= render.STATEFULSET_NAME_LIMIT


def test_examples_exist() -> None:
    assert {path.stem for path in EXAMPLES} >= {"smoke", "dag", "multi-dc"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_renders_values(path: Path) -> None:
    run = provisioned(path)
    cluster = run.spec.cluster
    tls = cluster.security.tls
    values = cluster_values(
        run.name,
        cluster,
        tls_secrets=TLS if tls.client or tls.internode else None,
        superuser_secret=None,
    )
    assert values["clusterName"] == run.name  # short names are kept as they are
    assert values["testRun"] == run.name
    assert values["serverVersion"] == DEFAULT_VERSION
    assert values["auth"] is cluster.security.authentication
    assert values["datacenters"] == [
        {"name": dc.name, "size": dc.size, "racks": list(dc.racks or [])}
        for dc in cluster.datacenters
    ]
    assert values["encryption"]["client"]["enabled"] is tls.client
    assert values["encryption"]["internode"]["enabled"] is tls.internode
    assert_names_fit(values["clusterName"], cluster)


def test_multi_dc_example_values() -> None:
    run = provisioned(ROOT / "manifests" / "examples" / "multi-dc.yaml")
    values = cluster_values(run.name, run.spec.cluster, tls_secrets=TLS, superuser_secret="su")
    assert values["auth"] is True
    assert values["heap"] == "256M"
    # 2 x 256 MB heap + 256 MiB headroom, rounded up to whole MiB; cpu stays the chart default.
    assert values["resources"] == {"memory": "745Mi"}
    assert values["encryption"] == {
        "client": {"enabled": True, "storesSecret": "run-client-stores"},
        "internode": {"enabled": True, "storesSecret": "run-internode-stores"},
    }
    assert values["superuser"] == {"secretName": "su"}
    assert values["datacenters"][0] == {"name": "dc1", "size": 2, "racks": ["r1", "r2"]}


def test_defaults_are_left_to_the_chart() -> None:
    values = cluster_values("smoke", spec(), tls_secrets=None, superuser_secret=None)
    assert not {"heap", "resources", "storage", "superuser", "owner"} & set(values)
    assert values["encryption"] == {
        "client": {"enabled": False, "storesSecret": ""},
        "internode": {"enabled": False, "storesSecret": ""},
    }


def test_the_chart_can_make_the_superuser_secret() -> None:
    values = cluster_values(
        "r", spec(), tls_secrets=None, superuser_secret=None, superuser_credentials=("su", "pw")
    )
    assert values["superuser"] == {"create": True, "username": "su", "password": "pw"}


def test_resources_storage_and_owner() -> None:
    cluster = spec(
        resources={
            "heap": "1Gi",
            "cpu": "2",
            "memory": "4Gi",
            "storage": "10Gi",
            "storageClassName": "fast",
        }
    )
    owner = {"apiVersion": "cqltest.dev/v1alpha1", "kind": "TestRun", "name": "r", "uid": "u-1"}
    values = cluster_values("r", cluster, tls_secrets=None, superuser_secret=None, owner=owner)
    assert values["heap"] == "1Gi"
    assert values["resources"] == {"cpu": "2", "cpuRequest": "2", "memory": "4Gi"}
    assert values["storage"] == {"size": "10Gi", "storageClassName": "fast"}
    assert values["owner"] == owner


@pytest.mark.parametrize(
    ("heap", "memory"),
    [("256M", "745Mi"), ("512Mi", "1280Mi"), ("1Gi", "2304Mi"), ("2G", "4071Mi")],
)
def test_memory_follows_the_heap(heap: str, memory: str) -> None:
    assert render.memory_for_heap(heap) == memory


@pytest.mark.parametrize(
    ("given", "full"),
    [(None, DEFAULT_VERSION), ("5.0", DEFAULT_VERSION), ("4.1", "4.1.0"), ("4.1.8", "4.1.8")],
)
def test_server_version_is_always_x_y_z(given: str | None, full: str) -> None:
    assert render.server_version(spec(serverVersion=given)) == full


def test_default_version_is_local_modes() -> None:
    assert render.DEFAULT_SERVER_VERSION == DEFAULT_VERSION


def test_tls_without_its_secret_is_an_error() -> None:
    cluster = spec(security={"tls": {"client": True}})
    with pytest.raises(ValueError, match="client TLS is on"):
        cluster_values("r", cluster, tls_secrets=None, superuser_secret=None)
    with pytest.raises(ValueError, match="client TLS is on"):
        cluster_values("r", cluster, tls_secrets=TlsSecrets(ca="c"), superuser_secret=None)


def test_existing_clusters_have_no_values() -> None:
    cluster = ClusterSpec.model_validate(
        {"existing": {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"}}
    )
    with pytest.raises(ValueError, match="existing"):
        cluster_values("r", cluster, tls_secrets=None, superuser_secret=None)


def test_names_k8ssandra_refuses_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"datacenters\[0\].name: '1dc' must start with a letter"):
        cluster_values(
            "r",
            spec(datacenters=[{"name": "1dc", "size": 1}]),
            tls_secrets=None,
            superuser_secret=None,
        )
    with pytest.raises(InputError, match=r"racks\[1\]: 'b' is too short"):
        cluster_values(
            "r",
            spec(datacenters=[{"name": "dc1", "size": 2, "racks": ["ra", "b"]}]),
            tls_secrets=None,
            superuser_secret=None,
        )
    with pytest.raises(InputError, match="leaves no room for a cluster name"):
        render.cluster_name("r", spec(datacenters=[{"name": "d" * 40, "size": 1}]))


def test_long_run_names_are_shortened_with_a_hash() -> None:
    cluster = spec(datacenters=[{"name": "dc1", "size": 3, "racks": ["rack1", "rack2"]}])
    first = render.cluster_name("a" * 60 + "-one", cluster)
    second = render.cluster_name("a" * 60 + "-two", cluster)
    assert first != second
    assert first == render.cluster_name("a" * 60 + "-one", cluster)
    assert_names_fit(first, cluster)
    # Sanitized names carry the hash, so "1st.run" and "c1st-run" stay apart.
    assert render.cluster_name("1st.run", cluster).startswith("c1st-run-")
    values = cluster_values("r" * 100, cluster, tls_secrets=None, superuser_secret=None)
    assert values["testRun"] == label_value("r" * 100)  # the label every child of the run has
    assert render.cluster_name("c1st-run", cluster) == "c1st-run"
    assert render.release_name("a.b") != render.release_name("a-b") == "cqltest-a-b"


def test_datacenter_service_and_superuser_secret() -> None:
    assert render.datacenter_service("smoke", "dc1") == "smoke-dc1-service"
    assert render.superuser_secret_name("smoke") == "smoke-superuser"


def test_release_names_fit_helm() -> None:
    assert render.release_name("smoke") == "cqltest-smoke"
    long = render.release_name("x" * 200)
    assert len(long) <= render.RELEASE_NAME_LIMIT
    assert long == render.release_name("x" * 200) != render.release_name("x" * 199)


LABEL = st.from_regex(r"[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,10}){0,3}", fullmatch=True)


@given(
    run=st.from_regex(
        r"[a-z0-9]([-a-z0-9]{0,100}[a-z0-9])?(\.[a-z0-9]{1,20}){0,2}", fullmatch=True
    ),
    dcs=st.lists(LABEL.filter(lambda n: len(n) <= 20), min_size=1, max_size=3, unique=True),
    racks=st.lists(LABEL.filter(lambda n: 2 <= len(n) <= 20), max_size=3, unique=True),
)
def test_derived_names_always_fit(run: str, dcs: list[str], racks: list[str]) -> None:
    cluster = spec(
        datacenters=[{"name": dc, "size": max(1, len(racks)), "racks": racks or None} for dc in dcs]
    )
    name = render.cluster_name(run, cluster)
    assert_names_fit(name, cluster)
    assert len(render.release_name(run)) <= render.RELEASE_NAME_LIMIT
