"""Generate the TestRun CustomResourceDefinition from the pydantic models.

The models are the source of truth; this turns their JSON schema into a *structural* OpenAPI
v3 schema the apiserver accepts: ``$ref``s inlined, ``X | None`` collapsed to X (the apiserver
drops nulls, which means "not set"), no ``additionalProperties: false`` (unknown fields are
rejected by server-side field validation instead), defaults kept only for scalars (object
defaults would defeat the CEL ``has()`` checks), and ``x-kubernetes-preserve-unknown-fields``
only on free-form maps (``params``) and on ``status.kopf``, which the kopf framework owns.
"""

from __future__ import annotations

from typing import Any

import yaml

from cqltest.model import GROUP, KIND, PLURAL, VERSION, TestRunSpec, TestRunStatus

SHORT_NAMES = ["tr"]
CATEGORIES = ["cqltest"]
_DROP = {"title", "additionalProperties", "$defs", "discriminator"}
_SCALARS = (bool, int, float, str)

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {
        "name": "Suites",
        "type": "string",
        "description": "Suites passed / total",
        "jsonPath": ".status.summary.progress",
    },
    {
        "name": "Failed-Tests",
        "type": "integer",
        "description": "Failed tests over all suites",
        "jsonPath": ".status.summary.tests.failed",
    },
    {
        "name": "Cluster",
        "type": "string",
        "description": "The cluster's state: Provisioning, Ready, Failed or TornDown",
        "jsonPath": ".status.cluster.state",
    },
    {"name": "Duration", "type": "string", "jsonPath": ".status.duration"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Message", "type": "string", "jsonPath": ".status.message"},
]

IMMUTABLE_SPEC = {
    "rule": "self == oldSelf",
    "message": "spec is immutable: create a new TestRun (e.g. with a new name) to change it",
}
"""A transition rule: an edit would leave a run half-changed (suites done under the old spec,
the rest under the new), so the apiserver rejects it at ``kubectl apply``. It lives here, not in
the model, because ``cqltest validate`` has no old object to compare with."""


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline every ``$ref`` (the models have no recursive types)."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return {key: _resolve(value, defs) for key, value in node.items()}


def _is_null(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "null"


def structural(node: dict[str, Any], *, keep_defaults: bool = True) -> dict[str, Any]:
    """One resolved pydantic schema node as a structural Kubernetes schema node."""
    node = dict(node)
    for key in ("anyOf", "oneOf"):
        options = node.pop(key, None)
        if options is None:
            continue
        concrete = [o for o in options if not _is_null(o)]
        if len(concrete) != 1:
            raise ValueError(f"cannot express a union of {len(concrete)} types in a CRD: {options}")
        node = {**concrete[0], **node}
    if "const" in node:
        node["enum"] = [node.pop("const")]
        node.setdefault("type", "string")
    if "default" in node and (not keep_defaults or not isinstance(node["default"], _SCALARS)):
        del node["default"]
    free_form = node.get("type") == "object" and "properties" not in node
    if free_form and node.get("additionalProperties", True) is True:
        node["x-kubernetes-preserve-unknown-fields"] = True
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP and not (key == "additionalProperties" and isinstance(value, dict)):
            continue
        if key == "properties":
            out[key] = {
                name: structural(child, keep_defaults=keep_defaults)
                for name, child in value.items()
            }
        elif key in ("items", "additionalProperties"):
            out[key] = structural(value, keep_defaults=keep_defaults)
        else:
            out[key] = value
    if "required" in out:
        nullable = {
            name
            for name, child in node.get("properties", {}).items()
            if any(_is_null(o) for o in child.get("anyOf", []))
        }
        required = [r for r in out["required"] if r not in nullable]
        if required:
            out["required"] = required
        else:
            del out["required"]
    return out


def _schema_of(model: type[TestRunSpec] | type[TestRunStatus], *, keep_defaults: bool) -> Any:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return structural(_resolve(raw, raw.get("$defs", {})), keep_defaults=keep_defaults)


def openapi_schema() -> dict[str, Any]:
    """The openAPIV3Schema of a TestRun object."""
    status = _schema_of(TestRunStatus, keep_defaults=False)
    spec = _schema_of(TestRunSpec, keep_defaults=True)
    spec["x-kubernetes-validations"] = [*spec.get("x-kubernetes-validations", []), IMMUTABLE_SPEC]
    return {
        "type": "object",
        "description": "A run of Cassandra test suites against a cluster cqltest provisions.",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }


def render_crd() -> dict[str, Any]:
    """The TestRun CustomResourceDefinition as a dict."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{PLURAL}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "cqltest"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": SHORT_NAMES,
                "categories": CATEGORIES,
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_crd_yaml() -> str:
    """The CRD as YAML, exactly what ``cqltest crd`` prints and ``manifests/crds/`` holds."""
    body = yaml.dump(render_crd(), Dumper=_NoAliasDumper, sort_keys=False, width=100)
    return f"# Generated by `cqltest crd` from cqltest.model; do not edit.\n{body}"
