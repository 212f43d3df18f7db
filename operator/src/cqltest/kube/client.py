"""Logging in to Kubernetes, once, the same way for the operator and the CLI.

Both kopf (async, its own HTTP client) and the official ``kubernetes`` client (sync, used here
for every call the operator makes) must talk to the same apiserver as the same user. The rule:
an explicit ``--kubeconfig`` wins, then ``$KUBECONFIG``/``~/.kube/config``, then the in-cluster
service account; :func:`kubeconfig_path` is what kopf's login handler is told to read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config

from cqltest.kube.errors import KubeError

_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def kubeconfig_path(explicit: Path | str | None = None) -> Path | None:
    """The kubeconfig to use, or None for the in-cluster service account."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("KUBECONFIG")
    if env:
        return Path(env.split(os.pathsep)[0])
    default = Path.home() / ".kube" / "config"
    if default.exists():
        return default
    if _IN_CLUSTER_TOKEN.exists():
        return None
    raise KubeError(
        "no Kubernetes credentials: pass --kubeconfig, set KUBECONFIG, or run in a pod "
        "(try `cqltest localkube up` for a Kubernetes on this machine)"
    )


@dataclass(frozen=True)
class Kube:
    """API groups bound to one logged-in ``ApiClient``."""

    api: Any
    core: Any
    batch: Any
    custom: Any
    events: Any

    @classmethod
    def connect(cls, kubeconfig: Path | str | None = None) -> Kube:
        path = kubeconfig_path(kubeconfig)
        if path is None:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            api = client.ApiClient()
        else:
            if not path.exists():
                raise KubeError(f"--kubeconfig {path}: no such file")
            api = config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
        return cls(
            api=api,
            core=client.CoreV1Api(api),
            batch=client.BatchV1Api(api),
            custom=client.CustomObjectsApi(api),
            events=client.EventsV1Api(api),
        )

    def close(self) -> None:
        self.api.close()
