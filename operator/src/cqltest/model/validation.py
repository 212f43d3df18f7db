"""Turn a manifest into a TestRun or into the complete list of what is wrong with it.

Users fix manifests faster when they see every problem at once, each naming the field path
(``spec.suites[2].dependsOn[0]``), the offending value and the rule. So schema errors from
pydantic are rewritten into that form, and the semantic checks (graph, topology, built-in
suites) run on the raw document too, even when the schema already failed. The semantic checks
repeat the CRD's CEL rules so local mode rejects exactly what the apiserver rejects.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, TypeGuard

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cqltest import plan
from cqltest.errors import ManifestError, Problem
from cqltest.model.catalogue import Catalogue, catalogue_problems, with_catalogue_defaults
from cqltest.model.fault_checks import fault_problems
from cqltest.model.pool import pool_problems
from cqltest.model.spec import TestRunSpec
from cqltest.model.testrun import TestRun
from cqltest.model.types import parse_duration


def format_path(loc: Sequence[int | str]) -> str:
    """``('spec', 'suites', 2, 'name')`` -> ``spec.suites[2].name``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that holds the field at ``loc`` (for listing allowed fields)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        field = fields.get(part)
        if field is None:
            return None
        current = field.annotation
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` down to X."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        owner = _model_at(TestRun, error["loc"][:-1])
        allowed = sorted(f.alias or n for n, f in owner.model_fields.items()) if owner else []
        hint = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f'unknown field "{error["loc"][-1]}"{hint}'
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return f"{value!r} is not one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match the pattern {ctx.get('pattern')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        op = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">"}.get(
            kind, "<"
        )
        limit = next(iter(ctx.values()), "?")
        limit = f"{limit:g}" if isinstance(limit, float) else limit
        return f"{value!r} is out of range: must be {op} {limit}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return f"{error['msg'][0].lower()}{error['msg'][1:]} (got {_short(value)})"
    return f"{error['msg'][0].lower()}{error['msg'][1:]} (got {_short(value)})"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def schema_problems(exc: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems (path, value, message)."""
    return [
        Problem(format_path(e["loc"]), e.get("input"), _message(e))
        for e in exc.errors(include_url=False)
    ]


def _dicts(value: object) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _get(data: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _positive_duration(path: str, value: object) -> list[Problem]:
    try:
        positive = parse_duration(value).total_seconds() > 0
    except ValueError:
        return []  # the schema check already reports a malformed duration
    return [] if positive else [Problem(path, value, f"{value!r} must be longer than 0s")]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _cluster_problems(cluster: object) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(cluster, Mapping):
        return problems
    dcs = cluster.get("datacenters")
    existing = cluster.get("existing")
    if existing is None and not dcs:
        problems.append(
            Problem(
                "spec.cluster.datacenters",
                dcs,
                "give at least one datacenter to provision a cluster, or existing to attach to one",
            )
        )
    if existing is not None:
        for key in ("serverVersion", "resources", "security"):
            if cluster.get(key) is not None:
                problems.append(
                    Problem(
                        f"spec.cluster.{key}",
                        cluster.get(key),
                        f"{key} only applies to a provisioned cluster; remove it or remove "
                        "existing",
                    )
                )
        problems += _existing_problems(existing)
    seen: dict[str, int] = {}
    for index, dc in _dicts(dcs):
        path = f"spec.cluster.datacenters[{index}]"
        name, size, rf, racks = dc.get("name"), dc.get("size"), dc.get("replicationFactor"), None
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    Problem(
                        f"{path}.name",
                        name,
                        f'duplicate datacenter name "{name}" (also '
                        f"spec.cluster.datacenters[{seen[name]}].name)",
                    )
                )
            seen.setdefault(name, index)
        if _is_int(size) and size >= 1:
            if _is_int(rf) and rf > size:
                problems.append(
                    Problem(
                        f"{path}.replicationFactor",
                        rf,
                        f"replicationFactor {rf} exceeds the size {size} of datacenter "
                        f'"{name}"; it must be between 1 and {size}',
                    )
                )
            racks = dc.get("racks")
            if isinstance(racks, list) and len(racks) > size:
                problems.append(
                    Problem(
                        f"{path}.racks",
                        racks,
                        f"{len(racks)} racks for {size} nodes; a datacenter cannot have more "
                        "racks than nodes",
                    )
                )
    if "readyTimeout" in cluster:
        problems += _positive_duration("spec.cluster.readyTimeout", cluster["readyTimeout"])
    return problems + pool_problems(cluster)


def _existing_problems(existing: object) -> list[Problem]:
    if not isinstance(existing, Mapping):
        return []
    problems = []
    base = "spec.cluster.existing"
    if existing.get("password") is not None and existing.get("passwordFrom") is not None:
        problems.append(
            Problem(f"{base}.passwordFrom", None, "give at most one of password and passwordFrom")
        )
    has_password = existing.get("password") is not None or existing.get("passwordFrom") is not None
    if has_password and existing.get("username") is None:
        problems.append(Problem(f"{base}.username", None, "a password needs a username"))
    if (existing.get("contactPoints") is None) == (existing.get("k8ssandraCluster") is None):
        problems.append(
            Problem(
                f"{base}.contactPoints",
                None,
                "give exactly one of contactPoints and k8ssandraCluster",
            )
        )
    source = existing.get("passwordFrom")
    if isinstance(source, Mapping) and (source.get("secretKeyRef") is None) == (
        source.get("env") is None
    ):
        problems.append(
            Problem(f"{base}.passwordFrom", source, "give exactly one of secretKeyRef and env")
        )
    return problems


def _suite_problems(suites: object, known_suites: Collection[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(suites, list):
        return problems
    edges: list[tuple[str, Sequence[str]]] = []
    for index, entry in enumerate(suites):
        entry = entry if isinstance(entry, Mapping) else {}
        name = entry.get("name")
        deps = entry.get("dependsOn")
        deps = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
        edges.append((name if isinstance(name, str) else f"<suites[{index}]>", deps))
        path = f"spec.suites[{index}]"
        given = [k for k in ("suite", "path", "command", "image") if entry.get(k) is not None]
        if "path" in given and len(given) > 1:
            others = ", ".join(k for k in given if k != "path")
            problems.append(
                Problem(f"{path}.path", entry.get("path"), f"path cannot be combined with {others}")
            )
        elif "suite" in given and "command" in given:
            problems.append(
                Problem(
                    f"{path}.command",
                    entry.get("command"),
                    "give suite (a built-in suite) or command (your own), not both",
                )
            )
        builtin = entry.get("suite", name)
        if (
            known_suites is not None
            and given in ([], ["suite"])
            and isinstance(builtin, str)
            and builtin not in known_suites
        ):
            field = "suite" if "suite" in given else "name"
            catalogue = ", ".join(sorted(known_suites)) or "none installed"
            problems.append(
                Problem(
                    f"{path}.{field}",
                    builtin,
                    f'unknown built-in suite "{builtin}" (built-in suites: {catalogue}); '
                    "set suite to one of them, or give path or command to run your own tests",
                )
            )
        if "timeout" in entry:
            problems += _positive_duration(f"{path}.timeout", entry["timeout"])
    return problems + plan.dependency_problems(edges)


def semantic_problems(data: object, known_suites: Collection[str] | None) -> list[Problem]:
    """Cross-field problems of a raw manifest; lenient about types the schema reports anyway.

    ``known_suites`` is the built-in suite catalogue; None skips that check.
    """
    spec = _get(data, "spec")
    if not isinstance(spec, Mapping):
        return []
    problems = _cluster_problems(spec.get("cluster"))
    problems += _suite_problems(spec.get("suites"), known_suites)
    problems += fault_problems(spec)
    if "timeout" in spec and spec["timeout"] is not None:
        problems += _positive_duration("spec.timeout", spec["timeout"])
    return problems


def validate_testrun(
    data: object, known_suites: Collection[str] | None, catalogue: Catalogue | None = None
) -> TestRun:
    """The TestRun of a parsed manifest; raises ManifestError listing every problem.

    With the ``catalogue``, built-in suites' params and needs are checked too, and an entry
    without a timeout gets its suite's default.
    """
    problems: list[Problem] = []
    run: TestRun | None = None
    try:
        run = TestRun.model_validate(data)
    except ValidationError as exc:
        problems += schema_problems(exc)
    # A field the schema rejects gets no second, semantic complaint: fix the first one first.
    rejected = {p.path for p in problems}
    problems += [p for p in semantic_problems(data, known_suites) if p.path not in rejected]
    if catalogue is not None:
        problems += [p for p in catalogue_problems(data, catalogue) if p.path not in rejected]
    if problems or run is None:
        raise ManifestError(problems)
    return run if catalogue is None else with_catalogue_defaults(run, catalogue)


def operator_problems(spec: TestRunSpec) -> list[Problem]:
    """What a valid TestRun asks for that only local mode can do: the operator ends such a run
    ``Invalid`` and ``cqltest submit`` refuses it before anything is applied."""
    problems = [
        Problem(
            f"spec.suites[{index}].path",
            suite.path,
            "a path suite runs only in local mode (cqltest run); on Kubernetes give a "
            "built-in suite, or an image and command",
        )
        for index, suite in enumerate(spec.suites)
        if suite.path is not None
    ]
    problems += [
        Problem(
            f"spec.faults[{index}].action",
            fault.action,
            "NodePause has no Kubernetes equivalent (a Pod cannot be frozen and thawed); in "
            "operator mode use NodeStop or NodeKill, or run NodePause with cqltest run",
        )
        for index, fault in enumerate(spec.faults)
        if fault.action == "NodePause"
    ]
    return problems
