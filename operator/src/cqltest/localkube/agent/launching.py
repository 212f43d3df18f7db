"""From a pod spec to what a container is started with: pod directory, volumes, hosts, env.

The rules that make a process stand in for a container live here:

* ``python``/``python3`` as a command's program resolve to the interpreter the agent runs
  under (``sys.executable``), so pods run cqltest's own code with its dependencies; any other
  program is looked up on the container's ``PATH`` (the agent's, unless the pod sets one);
* every container gets ``HOSTNAME`` (the pod name), ``HOME`` and the in-cluster API variables
  (``KUBERNETES_SERVICE_HOST``/``PORT`` pointing at the apiserver itself, since a ClusterIP
  routes nowhere without kube-proxy), then the pod's own env on top;
* the working directory is the container's ``workingDir`` when the host has it, otherwise an
  empty per-container directory mounted there, and ``DIR/pods/<uid>/work`` when none is set;
* volumes are written under ``DIR/pods/<uid>/volumes/<name>`` and bind-mounted by the sandbox;
  the service-account volume's token comes from the TokenRequest API, bound to the pod.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cqltest.localkube.agent import hosts
from cqltest.localkube.agent.api import Api, ApiError
from cqltest.localkube.agent.containers import Launch
from cqltest.localkube.agent.envvars import Fetch, command_line, resolve_env
from cqltest.localkube.agent.volumes import (
    Mount,
    Token,
    VolumeError,
    VolumePlan,
    container_mounts,
    plan_volumes,
)

PYTHON_NAMES = ("python", "python3")
#: How long a pod waits for its ServiceAccount before it is reported and retried.
SERVICE_ACCOUNT_WAIT = 5.0


def program(argv: list[str], interpreter: str = sys.executable) -> list[str]:
    """The documented rule: ``python``/``python3`` mean the agent's own interpreter."""
    if argv and argv[0] in PYTHON_NAMES:
        return [interpreter, *argv[1:]]
    return argv


def service_env(server: str) -> dict[str, str]:
    """The variables the kubelet derives from the ``kubernetes`` Service, aimed at the
    apiserver's real address."""
    url = urlparse(server)
    host, port = url.hostname or "127.0.0.1", str(url.port or 443)
    return {
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": port,
        "KUBERNETES_SERVICE_PORT_HTTPS": port,
        "KUBERNETES_PORT": f"tcp://{host}:{port}",
        "KUBERNETES_PORT_443_TCP": f"tcp://{host}:{port}",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_ADDR": host,
        "KUBERNETES_PORT_443_TCP_PORT": port,
    }


class PodFiles:
    """The pod's directory under the agent's state dir and the files in it."""

    def __init__(self, state_dir: Path, pod: Mapping[str, Any]) -> None:
        self.pod = pod
        self.dir = state_dir / "pods" / str(pod["metadata"]["uid"])
        self.volumes_dir = self.dir / "volumes"
        self.work_dir = self.dir / "work"
        self.hosts_file = self.dir / "hosts"

    def create(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        meta = self.pod["metadata"]
        (self.dir / "pod").write_text(f"{meta['namespace']}/{meta['name']}\n")

    def write_volumes(self, plans: list[VolumePlan]) -> None:
        for plan in plans:
            if plan.host_path:
                continue
            directory = self.volumes_dir / plan.name
            directory.mkdir(parents=True, exist_ok=True)
            for item in plan.files:
                path = directory / item.path
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(item.data)
                path.chmod(item.mode)

    def write_hosts(self, api: Api) -> None:
        services = hosts.service_addresses(
            api.get("/api/v1/services").get("items", []),
            api.get("/api/v1/endpoints").get("items", []),
            api.get("/apis/discovery.k8s.io/v1/endpointslices").get("items", []),
            api.get("/api/v1/pods").get("items", []),
        )
        self.hosts_file.write_text(hosts.render(self.pod, services))


def fetcher(api: Api) -> Fetch:
    def fetch(resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        return api.get_or_none(f"/api/v1/namespaces/{namespace}/{resource}/{name}")

    return fetch


def token_requester(api: Api, pod: Mapping[str, Any]) -> Token:
    """Tokens from the TokenRequest API, bound to `pod` as the kubelet binds them.

    The apiserver binds a token only to a pod that names its account, and without
    ServiceAccount admission nothing fills in ``serviceAccountName: default``, so a pod that
    names none gets a token that is not bound (valid until it expires). A namespace's
    ``default`` ServiceAccount appears a moment after the namespace (the serviceaccount
    controller makes it), so a missing one is waited for briefly before the pod is reported
    ContainerCreating and retried."""

    def token(namespace: str, account: str, audiences: Sequence[str], seconds: int) -> str:
        meta = pod["metadata"]
        spec: dict[str, Any] = {"audiences": list(audiences), "expirationSeconds": seconds}
        if pod["spec"].get("serviceAccountName"):
            spec["boundObjectRef"] = {
                "apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"],
            }  # fmt: skip
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
        deadline = time.monotonic() + SERVICE_ACCOUNT_WAIT
        while True:
            try:
                return str(api.request("POST", path, body=body)["status"]["token"])
            except ApiError as exc:
                if exc.status != 404:
                    raise
                if time.monotonic() > deadline:
                    raise VolumeError(
                        f'MountVolume.SetUp failed: serviceaccount "{account}" not found'
                    ) from None
            time.sleep(0.1)

    return token


def prepare_volumes(files: PodFiles, api: Api, allocatable: Mapping[str, str]) -> list[VolumePlan]:
    """Plan and write every volume; raises VolumeError/ConfigError as the kubelet would fail."""
    token = token_requester(api, files.pod)
    plans = plan_volumes(files.pod, fetcher(api), allocatable, token, api.ca_pem)
    files.write_volumes(plans)
    return plans


def launch_for(
    files: PodFiles,
    container: Mapping[str, Any],
    plans: list[VolumePlan],
    api: Api,
    allocatable: Mapping[str, str],
) -> Launch:
    """How to start `container`; raises ConfigError (CreateContainerConfigError)."""
    pod = files.pod
    services = service_env(api.server)
    env = resolve_env(pod, container, fetcher(api), allocatable=allocatable, service_env=services)
    argv = program(command_line(container, env))
    base = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "HOSTNAME": str(pod["metadata"]["name"]),
        **services,
    }
    mounts = [
        *container_mounts(container, plans, files.volumes_dir),
        Mount(str(files.hosts_file), "/etc/hosts", False),
    ]
    cwd = str(files.work_dir)
    working_dir = container.get("workingDir")
    if working_dir:
        cwd = str(working_dir)
        if not os.path.isdir(cwd):
            empty = files.dir / "workdirs" / str(container["name"])
            empty.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(str(empty), cwd, False))
    return Launch(files.dir, str(container["name"]), argv, {**base, **env}, cwd, mounts)
