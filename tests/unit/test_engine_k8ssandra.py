"""The K8ssandraCluster readiness contract, read from status dicts shaped as the operator writes."""

from __future__ import annotations

from typing import Any

from cqltest.engine.k8ssandra import datacenter_state, k8ssandra_view


def dc(ready: str, progress: str | None) -> dict[str, Any]:
    cassandra: dict[str, Any] = {"conditions": [{"type": "Ready", "status": ready}]}
    if progress is not None:
        cassandra["cassandraOperatorProgress"] = progress
    return {"cassandra": cassandra}


def test_a_dc_is_ready_only_with_condition_and_progress() -> None:
    assert datacenter_state(dc("True", "Ready")) == "Ready"
    assert datacenter_state(dc("True", "Updating")) == "Updating"
    assert datacenter_state(dc("False", "Ready")) != "Ready"
    assert datacenter_state(None) == "Pending"
    assert datacenter_state({"cassandra": {"conditions": []}}) == "NotReady"


def test_missing_object_waits() -> None:
    view = k8ssandra_view(None, ["dc1"])
    assert not view.ready
    assert view.datacenters == {"dc1": "Pending"}


def test_every_dc_must_be_ready_and_the_message_names_each() -> None:
    obj = {
        "status": {
            "datacenters": {"dc1": dc("True", "Ready"), "dc2": dc("False", "Updating")},
            "error": "None",
        }
    }
    view = k8ssandra_view(obj, ["dc1", "dc2"])
    assert not view.ready
    assert view.datacenters == {"dc1": "Ready", "dc2": "Updating"}
    assert view.message == "K8ssandraCluster dc1: Ready, dc2: Updating"
    obj["status"]["datacenters"]["dc2"] = dc("True", "Ready")
    assert k8ssandra_view(obj, ["dc1", "dc2"]).ready


def test_an_error_is_reported() -> None:
    obj = {"status": {"error": "node1 died: OutOfMemoryError"}}
    view = k8ssandra_view(obj, ["dc1"])
    assert not view.ready
    assert view.message.endswith("error: node1 died: OutOfMemoryError")
