"""What every pod the operator creates has in common: owner, labels, a locked-down container.

Test and probe pods run code from a user's image against a cluster, with no Kubernetes
credentials (``automountServiceAccountToken: false``), as a non-root user, on a read-only root
filesystem with an emptyDir for scratch (``HOME`` and ``TMPDIR`` point there), with every
capability dropped; their secrets arrive only as a ``secretKeyRef`` variable (the password) and
a Secret volume (the CA certificate), never as plain text in a manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cqltest.model import API_VERSION, KIND, SecretKeyRef
from cqltest.render.environment import Connection, connection_variables

RUN_AS_USER = 1000
SCRATCH = "/tmp"
CA_DIR = "/etc/cqltest/ca"
CA_FILE = "ca.crt"
CA_PATH = f"{CA_DIR}/{CA_FILE}"
MANAGED_BY = {"app.kubernetes.io/managed-by": "cqltest", "app.kubernetes.io/part-of": "cqltest"}


@dataclass(frozen=True)
class Owner:
    """The TestRun that owns a child object; deleting it deletes the child."""

    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def metadata(self, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        """Metadata of a child: its name, our labels, and the owner reference."""
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": {**MANAGED_BY, **labels},
            "ownerReferences": [self.reference()],
        }


@dataclass(frozen=True)
class Secrets:
    """Where a pod finds the cluster's secrets: the password key and the CA certificate key."""

    password: SecretKeyRef | None = None
    ca: SecretKeyRef | None = None


NO_SECRETS = Secrets()


def environment(
    variables: Mapping[str, str], connection: Connection, secrets: Secrets
) -> list[dict[str, Any]]:
    """The container ``env``: the contract's variables, the password only by reference."""
    if connection.password is not None:
        raise ValueError("a pod gets the password from a Secret (Secrets.password), never inline")
    plain = {k: v for k, v in variables.items() if k != "CQLTEST_PASSWORD"}
    if secrets.ca is not None:
        plain["CQLTEST_TLS_CA"] = CA_PATH
    plain.update({"HOME": SCRATCH, "TMPDIR": SCRATCH, "PYTHONUNBUFFERED": "1"})
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    if secrets.password is not None:
        ref = {"name": secrets.password.name, "key": secrets.password.key}
        env.append({"name": "CQLTEST_PASSWORD", "valueFrom": {"secretKeyRef": ref}})
    return env


def probe_environment(connection: Connection, secrets: Secrets) -> list[dict[str, Any]]:
    """The env of a pod that only needs to reach the cluster."""
    return environment(connection_variables(connection), connection, secrets)


def pod_spec(
    *,
    image: str,
    command: list[str],
    env: list[dict[str, Any]],
    secrets: Secrets,
    resources: Mapping[str, Any],
    container: str,
) -> dict[str, Any]:
    """A one-container pod that runs once (``restartPolicy: Never``), locked down as above."""
    mounts: list[dict[str, Any]] = [{"name": "scratch", "mountPath": SCRATCH}]
    volumes: list[dict[str, Any]] = [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]
    if secrets.ca is not None:
        mounts.append({"name": "ca", "mountPath": CA_DIR, "readOnly": True})
        items = [{"key": secrets.ca.key, "path": CA_FILE}]
        volumes.append({"name": "ca", "secret": {"secretName": secrets.ca.name, "items": items}})
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": container,
                "image": image,
                "command": command,
                "env": env,
                "resources": dict(resources),
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
