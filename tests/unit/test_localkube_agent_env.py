"""Env vars, $(VAR) expansion and downward-API values as the kubelet resolves them."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest
from cqltest.localkube.agent.envvars import command_line, expand, resolve_env
from cqltest.localkube.agent.fields import ConfigError, field_value, resource_value
from cqltest.localkube.agent.launching import program

ALLOCATABLE = {"cpu": "2", "memory": "4Gi"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("secrets", "creds"): {"data": {"user": b64("alice"), "password": b64("s3cret")}},
    ("configmaps", "settings"): {"data": {"MODE": "fast", "bad=key": "x"}},
}


def fetch(resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
    assert namespace == "ns"
    return OBJECTS.get((resource, name))


def pod(container: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "uid": "u-1",
            "labels": {"app": "x"},
            "annotations": {"note": 'say "hi"'},
        },
        "spec": {"nodeName": "n1", "containers": [container]},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)-$(B)", "1-2"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("$$", "$"),
        ("a$", "a$"),
        ("$(A", "$(A"),
        ("$x", "$x"),
        ("no vars", "no vars"),
        ("$(A)$(A)", "11"),
    ],
)
def test_expand_follows_the_kubelet(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == expected


def test_env_order_sources_and_expansion() -> None:
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        "env": [
            {"name": "USER", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}},
            {"name": "GREETING", "value": "hello $(USER) in $(CFG_MODE) $(LATER)"},
            {"name": "LATER", "value": "x"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {
                "name": "OPT",
                "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
            },
            {"name": "API", "value": "$(KUBERNETES_SERVICE_HOST)"},
        ],
    }
    env = resolve_env(
        pod(container),
        container,
        fetch,
        allocatable=ALLOCATABLE,
        service_env={"KUBERNETES_SERVICE_HOST": "127.0.0.1"},
    )
    assert env == {
        "CFG_MODE": "fast",
        "USER": "alice",
        "GREETING": "hello alice in fast $(LATER)",
        "LATER": "x",
        "POD": "p",
        "IP": "127.0.0.1",
        "APP": "x",
        "API": "127.0.0.1",
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"secretKeyRef": {"name": "creds", "key": "nokey"}},
         "couldn't find key nokey in Secret ns/creds"),
        ({"secretKeyRef": {"name": "absent", "key": "k"}}, 'secret "absent" not found'),
        ({"configMapKeyRef": {"name": "settings", "key": "X"}},
         "couldn't find key X in ConfigMap ns/settings"),
        ({"configMapKeyRef": {"name": "gone", "key": "X"}}, 'configmap "gone" not found'),
    ],
)  # fmt: skip
def test_missing_required_reference_is_a_config_error(source: dict[str, Any], message: str) -> None:
    container = {"name": "c", "env": [{"name": "V", "valueFrom": source}]}
    with pytest.raises(ConfigError, match=message):
        resolve_env(pod(container), container, fetch, allocatable=ALLOCATABLE)


def test_optional_env_from_missing_object_is_skipped() -> None:
    container = {"name": "c", "envFrom": [{"secretRef": {"name": "absent", "optional": True}}]}
    assert resolve_env(pod(container), container, fetch, allocatable=ALLOCATABLE) == {}


def test_command_and_args_expand_against_the_final_env() -> None:
    container = {"name": "c", "command": ["echo", "$(A)"], "args": ["$(B)", "$$(A)"]}
    assert command_line(container, {"A": "1", "B": "2"}) == ["echo", "1", "2", "$(A)"]


def test_a_container_without_command_cannot_run() -> None:
    with pytest.raises(ConfigError, match="no command"):
        command_line({"name": "c", "args": ["x"]}, {})


def test_python_means_the_agents_interpreter() -> None:
    assert program(["python3", "-c", "1"], "/venv/bin/python") == ["/venv/bin/python", "-c", "1"]
    assert program(["python", "x.py"], "/venv/bin/python")[0] == "/venv/bin/python"
    assert program(["sh", "-c", "python"], "/venv/bin/python") == ["sh", "-c", "python"]


def test_field_values_and_whole_maps() -> None:
    p = pod({"name": "c"})
    assert field_value(p, "metadata.uid") == "u-1"
    assert field_value(p, "spec.nodeName") == "n1"
    assert field_value(p, "metadata.annotations['note']") == 'say "hi"'
    assert field_value(p, "metadata.annotations", whole_maps=True) == 'note="say \\"hi\\""'
    with pytest.raises(ConfigError, match="unsupported fieldPath"):
        field_value(p, "metadata.labels")


@pytest.mark.parametrize(
    ("resources", "ref", "expected"),
    [
        ({"limits": {"cpu": "500m"}}, {"resource": "limits.cpu"}, "1"),
        ({"limits": {"cpu": "500m"}}, {"resource": "limits.cpu", "divisor": "1m"}, "500"),
        ({}, {"resource": "limits.cpu"}, "2"),
        ({}, {"resource": "limits.memory", "divisor": "1Mi"}, "4096"),
        ({"limits": {"memory": "1Gi"}}, {"resource": "requests.memory"}, "1073741824"),
        ({}, {"resource": "requests.cpu"}, "0"),
    ],
)
def test_resource_field_refs(resources: dict[str, Any], ref: dict[str, Any], expected: str) -> None:
    p = pod({"name": "c", "resources": resources})
    assert resource_value(p, "c", ref, ALLOCATABLE) == expected
