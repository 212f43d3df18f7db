"""Fixtures for every test that needs the real control plane (`cqltest.localkube.controlplane`).

One etcd + kube-apiserver pair serves the whole session: starting it costs seconds, and tests
isolate themselves with their own namespace (namespaces never finish deleting without a
controller-manager, so each test gets a fresh, uniquely named one instead).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cqltest.localkube.controlplane import ControlPlane
from cqltest.localkube.k8ssandra import crd as k8ssandra_crd

TESTRUN_CRD = (
    Path(__file__).resolve().parents[2] / "charts/cqltest-operator/crds/testruns.cqltest.dev.yaml"
)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """The running control plane: `.kubeconfig`, `.server`, `.api_client()`, `.kubectl(...)`."""
    with ControlPlane.start() as plane:
        yield plane


@pytest.fixture
def kube_api(control_plane: ControlPlane) -> Iterator[Any]:
    """An admin `kubernetes.client.ApiClient`, closed after the test."""
    client = control_plane.api_client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> str:
    """A fresh namespace named after the test (never deleted: nothing would finalize it)."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("create", "namespace", name)
    return name


@pytest.fixture(scope="module")
def crds(control_plane: ControlPlane) -> None:
    """The TestRun CRD (as the operator chart ships it) and localkube's K8ssandraCluster CRD."""
    for manifest in (k8ssandra_crd.manifest(), yaml.safe_load(TESTRUN_CRD.read_text())):
        control_plane.kubectl(
            "apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(manifest)
        )
        name = manifest["metadata"]["name"]
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")
