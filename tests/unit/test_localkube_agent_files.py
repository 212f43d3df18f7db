"""Volume plans and the per-pod /etc/hosts of the node agent."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from cqltest.localkube.agent.hosts import render, service_addresses
from cqltest.localkube.agent.volumes import (
    API_ACCESS_VOLUME,
    SERVICE_ACCOUNT_DIR,
    Mount,
    VolumeError,
    VolumeFile,
    container_mounts,
    plan_volumes,
)

OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("secrets", "tls"): {"data": {"ca.crt": base64.b64encode(b"CA").decode(), "k": "eA=="}},
    ("configmaps", "conf"): {"data": {"a.yaml": "a: 1"}, "binaryData": {"b.bin": "AAE="}},
}


def fetch(resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
    return OBJECTS.get((resource, name))


def pod(volumes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"}},
        "spec": {"volumes": volumes, "containers": [{"name": "c"}]},
    }


def test_secret_config_map_downward_and_projected_files() -> None:
    plans = plan_volumes(
        pod(
            [
                {"name": "s", "secret": {"secretName": "tls", "defaultMode": 0o400}},
                {
                    "name": "c",
                    "configMap": {"name": "conf", "items": [{"key": "a.yaml", "path": "d/x.yaml"}]},
                },
                {
                    "name": "d",
                    "downwardAPI": {
                        "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                    },
                },
                {
                    "name": "p",
                    "projected": {
                        "sources": [
                            {"configMap": {"name": "conf"}},
                            {"secret": {"name": "tls", "items": [{"key": "k", "path": "key"}]}},
                        ]
                    },
                },
                {"name": "e", "emptyDir": {}},
            ]
        ),
        fetch,
        {},
    )
    by_name = {plan.name: plan for plan in plans}
    assert by_name["s"].files == (
        VolumeFile("ca.crt", b"CA", 0o400),
        VolumeFile("k", b"x", 0o400),
    )
    assert by_name["s"].read_only
    assert by_name["c"].files == (VolumeFile("d/x.yaml", b"a: 1", 0o644),)
    assert by_name["d"].files == (VolumeFile("labels", b'a="b"', 0o644),)
    assert [f.path for f in by_name["p"].files] == ["a.yaml", "b.bin", "key"]
    assert by_name["p"].files[1].data == b"\x00\x01"
    assert by_name["e"].files == ()
    assert not by_name["e"].read_only


def test_missing_secret_or_key_is_a_volume_error_unless_optional() -> None:
    with pytest.raises(VolumeError, match='secret "absent" not found'):
        plan_volumes(pod([{"name": "s", "secret": {"secretName": "absent"}}]), fetch, {})
    volume = {"secretName": "tls", "items": [{"key": "nokey", "path": "x"}]}
    with pytest.raises(VolumeError, match="non-existent secret key: nokey"):
        plan_volumes(pod([{"name": "s", "secret": volume}]), fetch, {})
    optional = {"secretName": "absent", "optional": True}
    assert plan_volumes(pod([{"name": "s", "secret": optional}]), fetch, {})[0].files == ()


def test_item_paths_stay_inside_the_volume() -> None:
    volume = {"name": "conf", "items": [{"key": "a.yaml", "path": "../escape"}]}
    with pytest.raises(Exception, match="stay in the volume"):
        plan_volumes(pod([{"name": "c", "configMap": volume}]), fetch, {})


def test_container_mounts_read_only_and_sub_path() -> None:
    plans = plan_volumes(
        pod([{"name": "s", "secret": {"secretName": "tls"}}, {"name": "e", "emptyDir": {}}]),
        fetch,
        {},
    )
    container = {
        "volumeMounts": [
            {"name": "s", "mountPath": "/etc/cqltest/secret"},
            {"name": "e", "mountPath": "/data/", "subPath": "sub"},
            {"name": "e", "mountPath": "/ro", "readOnly": True},
        ]
    }
    assert container_mounts(container, plans, Path("/state/v")) == [
        Mount("/state/v/s", "/etc/cqltest/secret", True),
        Mount("/state/v/e/sub", "/data", False),
        Mount("/state/v/e", "/ro", True),
    ]


def fake_token(namespace: str, account: str, audiences: Sequence[str], seconds: int) -> str:
    return f"{namespace}:{account}:{','.join(audiences)}:{seconds}"


def test_service_account_volume_and_projected_tokens() -> None:
    spec_pod = pod(
        [
            {
                "name": "t",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "path": "tok",
                                "audience": "vault",
                                "expirationSeconds": 600,
                            }
                        }
                    ]
                },
            }
        ]
    )
    spec_pod["spec"]["serviceAccountName"] = "runner"
    plans = plan_volumes(spec_pod, fetch, {}, fake_token, b"CA")
    assert plans[0].files == (VolumeFile("tok", b"ns:runner:vault:600", 0o644),)
    access = plans[1]
    assert {f.path: f.data for f in access.files} == {
        "token": b"ns:runner::3607",
        "ca.crt": b"CA",
        "namespace": b"ns",
    }
    mounts = container_mounts({"volumeMounts": []}, plans, Path("/v"))
    assert mounts == [Mount(f"/v/{API_ACCESS_VOLUME}", SERVICE_ACCOUNT_DIR, True)]
    spec_pod["spec"]["automountServiceAccountToken"] = False
    assert len(plan_volumes(spec_pod, fetch, {}, fake_token, b"CA")) == 1


def test_hosts_lists_services_with_endpoints() -> None:
    services = [
        {"metadata": {"name": "db", "namespace": "ns"}},
        {"metadata": {"name": "other", "namespace": "far"}},
        {"metadata": {"name": "empty", "namespace": "ns"}},
    ]
    endpoints = [
        {"metadata": {"name": "db", "namespace": "ns"},
         "subsets": [{"addresses": [{"ip": "127.0.1.1"}]}]},
        {"metadata": {"name": "empty", "namespace": "ns"}, "subsets": []},
    ]  # fmt: skip
    slices = [
        {
            "metadata": {"namespace": "far", "labels": {"kubernetes.io/service-name": "other"}},
            "endpoints": [
                {"addresses": ["127.0.2.1"], "conditions": {"ready": False}},
                {"addresses": ["127.0.2.2"], "conditions": {"ready": True}},
            ],
        }
    ]
    text = render(
        {"metadata": {"name": "p", "namespace": "ns"}, "spec": {}},
        service_addresses(services, endpoints, slices),
    )
    lines = text.splitlines()
    assert "127.0.0.1\tp" in lines
    assert "127.0.2.2\tother.far.svc.cluster.local other.far.svc other.far" in lines
    assert "127.0.1.1\tdb.ns.svc.cluster.local db.ns.svc db.ns db" in lines
    assert "empty" not in text


def test_a_selector_service_without_endpoints_resolves_to_a_ready_pod() -> None:
    services = [{"metadata": {"name": "cass", "namespace": "ns"}, "spec": {"selector": {"a": "1"}}}]
    ready = [{"type": "Ready", "status": "True"}]

    def pod(name: str, ip: str, phase: str = "Running", labels: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return {
            "metadata": {"name": name, "namespace": "ns", "labels": labels or {"a": "1"}},
            "status": {"phase": phase, "podIP": ip, "conditions": ready},
        }

    pods = [
        pod("b", "127.0.1.2"),
        pod("a", "127.0.1.1", phase="Pending"),
        pod("c", "127.0.1.3", labels={"a": "2"}),
        pod("d", "127.0.1.4"),
    ]
    assert service_addresses(services, [], [], pods)[0].address == "127.0.1.2"
