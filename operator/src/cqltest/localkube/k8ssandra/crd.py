"""The ``K8ssandraCluster`` CRD localkube serves, written by us from the fields cqltest uses.

The real CRD (k8ssandra-operator, ``config/crd/bases``) is several megabytes of generated
schema for every field of cass-operator; we do not copy it. This one declares the fields of the
contract in ``shared/reference/k8ssandra.md`` §1 with a structural schema, so the apiserver
does what the real one does where it matters to users: a misspelled field is rejected by
``kubectl apply`` (strict field validation), ``serverVersion`` must look like a version, a DC
needs a DNS-1035 name and a size of at least 1. Free-form parts are free-form exactly where
they are in the real CRD (``cassandraYaml``, ``storageConfig``, ``resources``, pod-level
overrides), so manifests written for real K8ssandra apply here unchanged.
"""

from __future__ import annotations

from typing import Any

GROUP = "k8ssandra.io"
VERSION = "v1alpha1"
PLURAL = "k8ssandraclusters"
KIND = "K8ssandraCluster"
NAME = f"{PLURAL}.{GROUP}"

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_BOOL: Schema = {"type": "boolean"}
_FREE: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_FREE_LIST: Schema = {"type": "array", "items": _FREE}
_QUANTITY: Schema = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": _STRING}


def _object(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


_SECRET_KEY_REF = _object({"name": _STRING, "key": _STRING}, ["name"])

_STORES = _object(
    {
        "keystoreSecretRef": _SECRET_KEY_REF,
        "truststoreSecretRef": _SECRET_KEY_REF,
        "keystorePasswordSecretRef": _SECRET_KEY_REF,
        "truststorePasswordSecretRef": _SECRET_KEY_REF,
    },
    ["keystoreSecretRef", "truststoreSecretRef"],
)

_JVM_OPTIONS = _object(
    {
        "heap_initial_size": _QUANTITY,
        "heap_max_size": _QUANTITY,
        "heapSize": _QUANTITY,  # deprecated upstream; copied into both when they are unset
        "heap_new_gen_size": _QUANTITY,
        "heapNewGenSize": _QUANTITY,
        "gc": _STRING,
        "additionalOptions": {"type": "array", "items": _STRING},
        "additionalJvmServerOptions": {"type": "array", "items": _STRING},
    }
)

_CONFIG = _object(
    {
        "cassandraYaml": _FREE,
        "jvmOptions": _JVM_OPTIONS,
        "dseYaml": _FREE,
    }
)

_RACK = _object(
    {
        "name": {"type": "string", "minLength": 2},
        "nodeAffinityLabels": _STRING_MAP,
        "affinity": _FREE,
        "zone": _STRING,
    },
    ["name"],
)

#: DatacenterOptions: settable on spec.cassandra and on each datacenter (the DC's value wins).
_DATACENTER_OPTIONS: dict[str, Schema] = {
    "serverVersion": {"type": "string", "pattern": r"(\d+\.\d+\.\d+)"},
    "serverImage": _STRING,
    "config": _CONFIG,
    "storageConfig": _FREE,
    "resources": _FREE,
    "racks": {"type": "array", "items": _RACK},
    "networking": _object(
        {
            "hostNetwork": _BOOL,
            "nodePort": _object(
                {
                    name: {"type": "integer"}
                    for name in ("native", "nativeSSL", "internode", "internodeSSL")
                }
            ),
        }
    ),
    "softPodAntiAffinity": _BOOL,
    "mgmtAPIHeap": _QUANTITY,
    "tolerations": _FREE_LIST,
    "telemetry": _FREE,
    "containers": _FREE_LIST,
    "initContainers": _FREE_LIST,
    "extraVolumes": _FREE,
    "podSecurityContext": _FREE,
    "podPriorityClassName": _STRING,
    "managementApiAuth": _FREE,
    "serviceAccount": _STRING,
    "readOnlyRootFilesystem": _BOOL,
    "perNodeConfigInitContainerImage": _STRING,
    "perNodeConfigMapRef": _object({"name": _STRING}),
}

#: A DC's ``metadata.name`` becomes the CassandraDatacenter's name: a DNS-1035 label.
_DNS_1035 = {"type": "string", "maxLength": 63, "pattern": r"^[a-z]([-a-z0-9]*[a-z0-9])?$"}

_DATACENTER = _object(
    {
        "metadata": _object(
            {
                "name": _DNS_1035,
                "namespace": _STRING,
                "labels": _STRING_MAP,
                "annotations": _STRING_MAP,
                "commonLabels": _STRING_MAP,
                "pods": _FREE,
                "services": _FREE,
            },
            ["name"],
        ),
        "size": {"type": "integer", "format": "int32", "minimum": 1},
        "k8sContext": _STRING,
        "datacenterName": _STRING,
        "stopped": _BOOL,
        **_DATACENTER_OPTIONS,
    },
    ["metadata", "size"],
)

_CASSANDRA = _object(
    {
        "clusterName": _STRING,
        "serverType": {"type": "string", "enum": ["cassandra", "dse", "hcd"]},
        "superuserSecretRef": _object({"name": _STRING}),
        "datacenters": {"type": "array", "items": _DATACENTER},
        "additionalSeeds": {"type": "array", "items": _STRING},
        "serverEncryptionStores": _STORES,
        "clientEncryptionStores": _STORES,
        "metadata": _FREE,
        **_DATACENTER_OPTIONS,
    }
)

_SPEC = _object(
    {
        "auth": {"type": "boolean", "default": True},
        "cassandra": _CASSANDRA,
        "secretsProvider": {
            "type": "string",
            "enum": ["internal", "external"],
            "default": "internal",
        },
        "externalDatacenters": {"type": "array", "items": _STRING},
        "stargate": _FREE,
        "reaper": _FREE,
        "medusa": _FREE,
    }
)


def manifest() -> dict[str, Any]:
    """The CustomResourceDefinition object, ready for ``create_custom_resource_definition``."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": NAME,
            "labels": {"app.kubernetes.io/managed-by": "localkube.cqltest.dev"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": "k8ssandracluster",
                "shortNames": ["k8c", "k8cs"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Error", "type": "string", "jsonPath": ".status.error"},
                    ],
                    "schema": {
                        "openAPIV3Schema": _object(
                            {
                                "apiVersion": _STRING,
                                "kind": _STRING,
                                "metadata": {"type": "object"},
                                "spec": _SPEC,
                                # written by the controller only; kept as the real operator
                                # writes it (a copy of each CassandraDatacenter status)
                                "status": _FREE,
                            }
                        )
                    },
                }
            ],
        },
    }
