"""K8ssandraCluster → local cluster: the contract's rules, and errors that name the field."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from cqltest.localkube.k8ssandra.translate import (
    SecretKey,
    SpecError,
    cleanup_for_kubernetes,
    heap_size,
    local_name,
    translate,
)

STORAGE = {"cassandraDataVolumeClaimSpec": {"resources": {"requests": {"storage": "1Gi"}}}}


def cluster(**cassandra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "serverVersion": "5.0.9",
        "storageConfig": STORAGE,
        "datacenters": [{"metadata": {"name": "dc1"}, "size": 1}],
    }
    base.update(cassandra)
    return {
        "apiVersion": "k8ssandra.io/v1alpha1",
        "kind": "K8ssandraCluster",
        "metadata": {"name": "demo", "namespace": "team-a", "uid": "u1", "generation": 1},
        "spec": {"cassandra": base},
    }


def test_minimal_cluster() -> None:
    t = translate(cluster())
    assert t.local_name == "team-a_demo"
    assert t.cluster_label == t.cassandra_name == "demo"
    assert t.version == "5.0.9"
    assert t.authentication is True  # the CRD's default
    assert t.superuser_secret == "demo-superuser"
    assert t.generate_superuser
    assert t.client_stores is None
    assert t.internode_stores is None
    (dc,) = t.datacenters
    assert (dc.key, dc.label, dc.cassandra_name, dc.size, dc.racks) == (
        "dc1",
        "dc1",
        "dc1",
        1,
        ("default",),
    )
    spec = t.cluster_spec(("demo-superuser", "pw"))
    assert spec.name == "team-a_demo"
    assert spec.cassandra_name == "demo"
    assert spec.superuser == "demo-superuser"
    assert spec.superuser_password == "pw"
    assert [(d.name, d.nodes, d.racks) for d in spec.datacenters] == [("dc1", 1, ["default"])]


def test_dc_options_merge_under_the_dc_and_heap_is_converted() -> None:
    body = cluster(
        config={"jvmOptions": {"heap_max_size": "1Gi"}, "cassandraYaml": {"a": 1}},
        datacenters=[
            {
                "metadata": {"name": "dc1"},
                "size": 3,
                "racks": [{"name": "r1"}, {"name": "r2"}],
                "datacenterName": "Main_DC",
                "config": {"jvmOptions": {"heap_max_size": "512Mi"}},
            },
            {
                "metadata": {"name": "dc2"},
                "size": 1,
                "config": {"jvmOptions": {"heap_max_size": "512M"}},
            },
        ],
    )
    body["spec"]["auth"] = False
    body["spec"]["cassandra"]["clusterName"] = "My_Cluster"
    body["spec"]["cassandra"]["superuserSecretRef"] = {"name": "given"}
    t = translate(body)
    assert t.heap == "512M"
    assert t.authentication is False
    assert t.cassandra_name == "My_Cluster"
    assert t.cluster_label == "my-cluster"
    assert (t.superuser_secret, t.generate_superuser) == ("given", False)
    first = t.datacenters[0]
    assert (first.key, first.label, first.cassandra_name) == ("dc1", "main-dc", "Main_DC")
    assert first.racks == ("r1", "r2")


@pytest.mark.parametrize(
    ("value", "heap"),
    [("512Mi", "512M"), ("512M", "512M"), ("1Gi", "1024M"), ("2G", "2048M"), (536870912, "512M")],
)
def test_heap_sizes(value: object, heap: str) -> None:
    assert heap_size(value, "x") == heap


@pytest.mark.parametrize(("value", "fragment"), [("lots", "not a memory size"), ("64Mi", "128M")])
def test_bad_heap_sizes(value: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        heap_size(value, "spec.cassandra.config.jvmOptions.heap_max_size")


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    body = cluster()
    target: Any = body["spec"]["cassandra"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_with(["serverVersion"], "4.1.8"), "Cassandra 5.0.x only"),
        (_with(["serverVersion"], None), "serverVersion should be set"),
        (_with(["storageConfig"], None), "storageConfig should be set"),
        (_with(["datacenters"], []), "datacenters is empty"),
        (_with(["datacenters", 0, "size"], 0), r"datacenters\[0\].size 0"),
        (_with(["datacenters", 0, "stopped"], True), "stopped datacenters"),
        (_with(["datacenters", 0, "k8sContext"], "east"), "k8sContext 'east'"),
        (_with(["serverType"], "dse"), "only cassandra"),
        (_with(["datacenters", 0, "racks"], [{"name": "r" * 60}]), "more than 60"),
        (
            _with(
                ["datacenters"],
                [
                    {"metadata": {"name": "dc1"}, "size": 1},
                    {"metadata": {"name": "dc2"}, "size": 1, "serverVersion": "5.0.8"},
                ],
            ),
            "differ in serverVersion",
        ),
        (
            _with(
                ["datacenters"],
                [
                    {"metadata": {"name": "dc1"}, "size": 1},
                    {"metadata": {"name": "dc1"}, "size": 1},
                ],
            ),
            "given twice",
        ),
    ],
)
def test_unservable_clusters_are_refused_naming_the_field(
    body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(SpecError, match=fragment):
        translate(body)


def test_missing_cassandra() -> None:
    body = cluster()
    del body["spec"]["cassandra"]
    with pytest.raises(SpecError, match=re.escape("spec.cassandra is required")):
        translate(body)


def _tls_body(yaml: dict[str, Any]) -> dict[str, Any]:
    body = cluster(
        config={"cassandraYaml": yaml},
        clientEncryptionStores={
            "keystoreSecretRef": {"name": "client"},
            "truststoreSecretRef": {"name": "client-ca", "key": "ca.pem"},
        },
        serverEncryptionStores={
            "keystoreSecretRef": {"name": "server", "key": "keystore.p12"},
            "truststoreSecretRef": {"name": "server"},
            "keystorePasswordSecretRef": {"name": "pw", "key": "k"},
        },
    )
    return copy.deepcopy(body)


def test_tls_needs_stores_and_cassandra_yaml() -> None:
    off = translate(_tls_body({}))
    assert off.client_stores is None
    assert off.internode_stores is None
    none = translate(_tls_body({"server_encryption_options": {"internode_encryption": "none"}}))
    assert none.internode_stores is None
    on = translate(
        _tls_body(
            {
                "client_encryption_options": {"enabled": True},
                "server_encryption_options": {"internode_encryption": "all"},
            }
        )
    )
    assert on.client_stores is not None
    assert on.internode_stores is not None
    client, server = on.client_stores, on.internode_stores
    assert client.keystore == SecretKey("client", "keystore")
    assert client.truststore == SecretKey("client-ca", "ca.pem")
    assert client.keystore_password == SecretKey("client", "keystore-password", optional=True)
    assert client.truststore_password == SecretKey("client-ca", "truststore-password", True)
    assert server.keystore == SecretKey("server", "keystore.p12")
    assert server.keystore_password == SecretKey("pw", "k", optional=False)
    spec = on.cluster_spec(("u", "p"), "/s/client", "/s/internode")
    assert spec.client_tls
    assert spec.internode_tls
    assert (spec.client_stores, spec.internode_stores) == ("/s/client", "/s/internode")


def test_encryption_enabled_without_stores_stays_off() -> None:
    body = cluster(config={"cassandraYaml": {"client_encryption_options": {"enabled": True}}})
    assert translate(body).client_stores is None


def test_local_names_are_unique_and_valid() -> None:
    assert local_name("a-b", "c") != local_name("a", "b-c")
    long = local_name("n" * 63, "cluster.with.dots")
    assert len(long) <= 48
    assert re.match(r"^[a-z0-9]([a-z0-9_-]{0,46}[a-z0-9])?$", long)
    assert long == local_name("n" * 63, "cluster.with.dots")
    assert local_name("ns", "a.b") != local_name("ns", "a-b")


def test_cleanup_for_kubernetes() -> None:
    assert cleanup_for_kubernetes("My_Cluster!") == "my-cluster"
