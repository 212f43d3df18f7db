"""What a pod's spec gives its process under the node agent: env, volumes, /etc/hosts.

Real components only: the localkube's apiserver, scheduler and node agent.
"""

from __future__ import annotations

import base64
import os

import pytest
from agentkit import apply, finished_pod, get, output_json, pod, wait_for
from cqltest.localkube.instance import Localkube

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]

REPORT = """
import json, os, socket
def read(path):
    with open(path) as handle:
        return handle.read()
print(json.dumps({
    "password": os.environ.get("PASSWORD"),
    "pod": os.environ.get("POD_NAME"),
    "ip": os.environ.get("POD_IP"),
    "greeting": os.environ.get("GREETING"),
    "secret_file": read("/etc/cqltest/secret/password"),
    "secret_files": sorted(os.listdir("/etc/cqltest/secret")),
    "config": read("/etc/cqltest/config/app.conf"),
    "label": read("/etc/podinfo/labels"),
    "secret_writable": os.access("/etc/cqltest/secret", os.W_OK),
}))
"""


def secret(name: str, **data: str) -> dict[str, object]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def test_secrets_config_maps_and_the_downward_api_reach_the_process(
    localkube: Localkube, namespace: str
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app"},
        "data": {"app.conf": "mode = fast\n"},
    }
    container = {
        "command": ["python3", "-c", REPORT],
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "GREETING", "value": "hello $(POD_NAME)"},
        ],
        "volumeMounts": [
            {"name": "secret", "mountPath": "/etc/cqltest/secret"},
            {"name": "config", "mountPath": "/etc/cqltest/config"},
            {"name": "podinfo", "mountPath": "/etc/podinfo"},
        ],
    }
    volumes = [
        {"name": "secret", "secret": {"secretName": "db"}},
        {"name": "config", "configMap": {"name": "app"}},
        {
            "name": "podinfo",
            "downwardAPI": {
                "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
            },
        },
    ]
    manifest = pod("report", container, volumes=volumes)
    manifest["metadata"]["labels"] = {"app": "report"}
    apply(localkube, namespace, secret("db", password="s3cret"), config, manifest)
    done = finished_pod(localkube, namespace, "report")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert output_json(localkube, namespace, "report") == {
        "password": "s3cret",
        "pod": "report",
        "ip": "127.0.0.1",
        "greeting": "hello report",
        "secret_file": "s3cret",
        "secret_files": ["password"],
        "config": "mode = fast\n",
        "label": 'app="report"',
        "secret_writable": False,
    }
    # The mount points were made inside the pod's mount namespace only.
    assert not os.path.exists("/etc/cqltest")
    assert not os.path.exists("/etc/podinfo")


def test_resource_limits_are_reported_through_the_downward_api(
    localkube: Localkube, namespace: str
) -> None:
    resources = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
    env = [
        {
            "name": "MEMORY_MB",
            "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
        },
        {
            "name": "CPU_M",
            "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}},
        },
    ]
    container = {"command": ["sh", "-c", "echo $MEMORY_MB $CPU_M"], "env": env}
    apply(localkube, namespace, pod("sized", {**container, "resources": resources}))
    done = finished_pod(localkube, namespace, "sized")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["status"]["qosClass"] == "Burstable"  # the apiserver's, kept
    assert localkube.kubectl("logs", "-n", namespace, "sized").stdout == "128 100\n"


def test_a_missing_secret_key_leaves_the_pod_pending_until_it_exists(
    localkube: Localkube, namespace: str
) -> None:
    container = {
        "command": ["sh", "-c", "echo $TOKEN"],
        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}],
    }
    apply(localkube, namespace, secret("api", other="x"), pod("waits", container))
    path = f"/api/v1/namespaces/{namespace}/pods/waits"

    def config_error() -> dict[str, object] | None:
        status = get(localkube, path).get("status", {})
        for container_status in status.get("containerStatuses") or []:
            waiting = container_status.get("state", {}).get("waiting") or {}
            if waiting.get("reason") == "CreateContainerConfigError":
                return {"phase": status.get("phase"), "message": waiting.get("message")}
        return None

    seen = wait_for("CreateContainerConfigError", config_error)
    assert seen == {
        "phase": "Pending",
        "message": f"couldn't find key token in Secret {namespace}/api",
    }
    # Retried as the kubelet retries: once the key exists, the pod runs.
    apply(localkube, namespace, secret("api", token="abc"))
    done = finished_pod(localkube, namespace, "waits")
    assert done["status"]["phase"] == "Succeeded"
    assert localkube.kubectl("logs", "-n", namespace, "waits").stdout == "abc\n"


def test_service_names_resolve_through_the_pods_hosts_file(
    localkube: Localkube, namespace: str
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "db"},
        "spec": {"ports": [{"port": 9042}]},  # no selector: endpoints are ours to write
    }
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "db"},
        "subsets": [{"addresses": [{"ip": "10.11.12.13"}], "ports": [{"port": 9042}]}],
    }
    apply(localkube, namespace, service, endpoints)
    names = ["db", f"db.{namespace}", f"db.{namespace}.svc", f"db.{namespace}.svc.cluster.local"]
    script = (
        "import json, socket, sys; "
        "print(json.dumps([socket.gethostbyname(n) for n in sys.argv[1:]]))"
    )
    apply(localkube, namespace, pod("resolver", {"command": ["python3", "-c", script, *names]}))
    done = finished_pod(localkube, namespace, "resolver")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    resolved = output_json(localkube, namespace, "resolver")
    assert resolved == ["10.11.12.13"] * 4


IN_CLUSTER = """
import json, os, ssl, urllib.error, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
token = open(f"{sa}/token").read()
namespace = open(f"{sa}/namespace").read()
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
context = ssl.create_default_context(cafile=f"{sa}/ca.crt")
request = urllib.request.Request(
    f"https://{host}:{port}/api/v1/namespaces/{namespace}/secrets",
    headers={"Authorization": f"Bearer {token}"},
)
try:
    urllib.request.urlopen(request, context=context)
    answer = {"code": 200}
except urllib.error.HTTPError as exc:
    answer = {"code": exc.code, "message": json.loads(exc.read())["message"]}
print(json.dumps(answer))
"""


@pytest.mark.parametrize("account", ["default", "runner"])
def test_in_cluster_clients_authenticate_as_the_pods_service_account(
    localkube: Localkube, namespace: str, account: str
) -> None:
    manifest = pod("incluster", {"command": ["python3", "-c", IN_CLUSTER]})
    if account != "default":  # named: the token is bound to the pod
        sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}}
        apply(localkube, namespace, sa)
        manifest["spec"]["serviceAccountName"] = account
    apply(localkube, namespace, manifest)
    done = finished_pod(localkube, namespace, "incluster")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    answer = output_json(localkube, namespace, "incluster")
    # Authenticated (TLS verified with ca.crt), then refused by RBAC: the default account
    # may not list Secrets.
    assert answer["code"] == 403
    assert f"system:serviceaccount:{namespace}:{account}" in answer["message"]
