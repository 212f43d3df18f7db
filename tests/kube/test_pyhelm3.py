"""pyhelm3 drives the helm binary built by the install script: render, and install for real.

pyhelm3 + helm is the operator's only path to K8ssandra, so the built binary must satisfy
pyhelm3 (it parses `helm version` as semver: a binary built without version ldflags says
"v3.22" and breaks it) and must talk to our apiserver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyhelm3
import pytest
import yaml
from controlplane import ControlPlane
from kubernetes import client

pytestmark = [pytest.mark.kube, pytest.mark.timeout(120)]


@pytest.fixture
def tiny_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "v2", "name": "tiny", "version": "0.1.0", "kubeVersion": ">=1.30.0-0"}
        )
    )
    (chart / "values.yaml").write_text(yaml.safe_dump({"greeting": "hello"}))
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: {{ .Release.Name }}-greeting\n"
        "data:\n"
        "  greeting: {{ .Values.greeting | quote }}\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
    )
    return chart


async def test_pyhelm3_renders_with_the_built_helm(
    control_plane: ControlPlane, tiny_chart: Path
) -> None:
    helm = pyhelm3.Client(executable=str(control_plane.helm))
    assert helm.version.major == 3
    chart = await helm.get_chart(tiny_chart)
    rendered = list(await helm.template_resources(chart, "demo", {"greeting": "hi"}))
    assert len(rendered) == 1
    configmap = rendered[0]
    assert configmap["metadata"]["name"] == "demo-greeting"
    assert configmap["data"]["greeting"] == "hi"
    # The offline default KubeVersion is stamped at build time; 1.20 would fail kubeVersion gates.
    major, minor = configmap["data"]["kube"].removeprefix("v").split(".")[:2]
    assert (int(major), int(minor)) >= (1, 30)


async def test_pyhelm3_installs_and_uninstalls_against_the_apiserver(
    control_plane: ControlPlane, kube_api: Any, namespace: str, tiny_chart: Path
) -> None:
    helm = pyhelm3.Client(executable=str(control_plane.helm), kubeconfig=control_plane.kubeconfig)
    chart = await helm.get_chart(tiny_chart)
    revision = await helm.install_or_upgrade_release(
        "demo", chart, {"greeting": "installed"}, namespace=namespace, wait=False
    )
    assert revision.revision == 1
    core = client.CoreV1Api(kube_api)
    configmap = core.read_namespaced_config_map("demo-greeting", namespace)
    assert configmap.data["greeting"] == "installed"
    # Talking to a live server, helm sees its real version, not the stamped default.
    assert configmap.data["kube"] == client.VersionApi(kube_api).get_code().git_version

    await helm.uninstall_release("demo", namespace=namespace, wait=False)
    names = [cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items]
    assert "demo-greeting" not in names
