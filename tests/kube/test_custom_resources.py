"""A CRD and its objects round-trip through the real apiserver, by the Python client and kubectl.

This is the operator's whole Kubernetes surface in miniature: install a CRD, wait until it is
Established, then create, read, patch status through the status subresource and delete an
object. Both clients are exercised because the operator uses the first and GitOps users the
second.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from controlplane import ControlPlane
from kubernetes import client
from kubernetes.client.exceptions import ApiException

pytestmark = [pytest.mark.kube, pytest.mark.timeout(120)]

GROUP = "fixture.cqltest.dev"
VERSION = "v1"


def widget_crd(kind: str, plural: str) -> dict[str, Any]:
    """A small namespaced CRD with a status subresource, a validated spec and a printer column."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {"size": {"type": "integer", "minimum": 1}},
                                },
                                "status": {
                                    "type": "object",
                                    "properties": {
                                        "phase": {"type": "string"},
                                        "observed": {"type": "integer"},
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


def wait_established(api: Any, name: str, timeout: float = 30) -> None:
    extensions = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = extensions.read_custom_resource_definition(name)
        conditions = (crd.status and crd.status.conditions) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.1)
    raise AssertionError(f"CRD {name} not Established after {timeout}s")


def widget(name: str, size: int, kind: str = "Widget") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"size": size},
    }


def test_custom_object_lifecycle_through_the_python_client(kube_api: Any, namespace: str) -> None:
    extensions = client.ApiextensionsV1Api(kube_api)
    extensions.create_custom_resource_definition(widget_crd("Widget", "widgets"))
    wait_established(kube_api, f"widgets.{GROUP}")
    objects = client.CustomObjectsApi(kube_api)
    coords: dict[str, Any] = {
        "group": GROUP,
        "version": VERSION,
        "namespace": namespace,
        "plural": "widgets",
    }

    created = objects.create_namespaced_custom_object(**coords, body=widget("w1", 3))
    assert created["metadata"]["uid"]

    read = objects.get_namespaced_custom_object(**coords, name="w1")
    assert read["spec"] == {"size": 3}
    assert "status" not in read

    patched = objects.patch_namespaced_custom_object_status(
        **coords, name="w1", body={"status": {"phase": "Ready", "observed": 1}}
    )
    assert patched["status"] == {"phase": "Ready", "observed": 1}
    assert patched["metadata"]["generation"] == 1, "a status write must not bump generation"

    # With the status subresource on, the main resource ignores status changes.
    objects.patch_namespaced_custom_object(
        **coords, name="w1", body={"spec": {"size": 4}, "status": {"phase": "Hacked"}}
    )
    read = objects.get_namespaced_custom_object(**coords, name="w1")
    assert read["spec"] == {"size": 4}
    assert read["status"]["phase"] == "Ready"
    assert read["metadata"]["generation"] == 2

    with pytest.raises(ApiException) as rejected:
        objects.create_namespaced_custom_object(**coords, body=widget("w2", 0))
    assert rejected.value.status == 422
    assert "spec.size" in str(rejected.value.body)

    objects.delete_namespaced_custom_object(**coords, name="w1")
    with pytest.raises(ApiException) as gone:
        objects.get_namespaced_custom_object(**coords, name="w1")
    assert gone.value.status == 404


def test_custom_object_lifecycle_through_kubectl(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    kubectl = control_plane.kubectl
    crd_file = tmp_path / "gadgets-crd.yaml"
    crd_file.write_text(yaml.safe_dump(widget_crd("Gadget", "gadgets")))
    kubectl("apply", "-f", str(crd_file))
    kubectl("wait", "--for=condition=Established", f"crd/gadgets.{GROUP}", "--timeout=30s")

    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(widget("g1", 2, "Gadget")))
    read = json.loads(kubectl("get", "-n", namespace, "gadget/g1", "-o", "json").stdout)
    assert read["spec"] == {"size": 2}

    kubectl(
        "patch", "-n", namespace, "gadget/g1", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"phase": "Ready", "observed": 1}}),
    )  # fmt: skip
    phase = kubectl("get", "-n", namespace, "gadget/g1", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Ready"
    table = kubectl("get", "-n", namespace, "gadgets").stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE"]  # custom columns replace the default AGE
    assert table[1].split() == ["g1", "Ready"]

    bad = kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(widget("g2", 0, "Gadget")),
        check=False,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "spec.size" in bad.stderr

    kubectl("delete", "-n", namespace, "gadget/g1", "--wait=true")
    gone = kubectl("get", "-n", namespace, "gadget/g1", check=False)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr
