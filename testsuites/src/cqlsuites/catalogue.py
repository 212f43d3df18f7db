"""The built-in suite catalogue as data: every suite's ``suite.yaml``, parsed, checked and typed.

A suite declares what it is (description, markers), what it needs from the cluster, its
default timeout and its params. Two readers need that: the suite process (the ``suite_params``
fixture merges defaults and coerces types) and cqltest (``cqltest suites``, and validation of a
TestRun's params and topology before anything starts). So this module stays pure data: PyYAML
and the standard library only, never aiocql, pytest or the driver, and cqltest may import it
without importing a single suite.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUITES_DIR = Path(__file__).resolve().parent / "suites"
SUITE_FILE = "suite.yaml"

MARKERS: Mapping[str, str] = {
    "slow": "takes longer than the rest of its suite (deselect with -m 'not slow')",
    "destructive": "stops, kills or reconfigures nodes: never run against a shared cluster",
    "multidc": "needs at least two datacenters",
    "auth": "needs PasswordAuthenticator and superuser credentials",
    "tls": "needs client TLS (CQLTEST_TLS_CA)",
}
"""The markers a suite may declare, with the help text the plugin registers for them."""

PARAM_TYPES = ("integer", "number", "string", "boolean", "duration")

_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|ms|m|s))+$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# libyaml's loader when PyYAML was built with it: the operator reads every suite.yaml at start.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DURATION_RULE = "a duration such as 500ms, 30s, 5m or 1h30m, or a number of seconds"


class CatalogueError(ValueError):
    """A ``suite.yaml`` or a suite's params break the catalogue's rules; the message says which."""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a suite."""

    name: str
    type: str
    default: Any
    description: str
    choices: tuple[Any, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "default": self.default,
            "description": self.description,
        }
        if self.choices is not None:
            data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class Needs:
    """What a suite needs from the cluster to run all of its tests."""

    nodes: int = 1
    datacenters: int = 1
    authentication: bool = False
    tls: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "datacenters": self.datacenters,
            "authentication": self.authentication,
            "tls": self.tls,
        }

    def describe(self) -> str:
        """``3 nodes, 2 DCs, auth, TLS``: the short form ``cqltest suites`` prints."""
        parts = [f"{self.nodes} node{'s' if self.nodes != 1 else ''}"]
        if self.datacenters > 1:
            parts.append(f"{self.datacenters} DCs")
        if self.authentication:
            parts.append("auth")
        if self.tls:
            parts.append("TLS")
        return ", ".join(parts)


@dataclass(frozen=True)
class SuiteInfo:
    """A built-in suite as its ``suite.yaml`` declares it."""

    name: str
    description: str
    timeout: str
    timeout_seconds: float
    markers: tuple[str, ...] = ()
    needs: Needs = field(default_factory=Needs)
    params: Mapping[str, Param] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "markers": list(self.markers),
            "needs": self.needs.to_json(),
            "timeout": self.timeout,
            "params": {name: p.to_json() for name, p in self.params.items()},
        }

    def problems(self, params: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
        """Every unknown or ill-typed param as ``(param, value, message)``; empty if all fit."""
        found: list[tuple[str, Any, str]] = []
        accepted = ", ".join(sorted(self.params)) or "none"
        for name, value in params.items():
            param = self.params.get(name)
            if param is None:
                found.append(
                    (
                        name,
                        value,
                        f'suite "{self.name}" has no param "{name}" (accepted params: {accepted})',
                    )
                )
                continue
            try:
                coerce(param, value)
            except CatalogueError as exc:
                found.append((name, value, f'suite "{self.name}": {exc}'))
        return found

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The params a suite's tests see: defaults merged in, values coerced to their types.

        Raises :class:`CatalogueError` listing every unknown or ill-typed param.
        """
        problems = self.problems(params)
        if problems:
            raise CatalogueError("; ".join(message for _, _, message in problems))
        resolved = {name: coerce(p, p.default) for name, p in self.params.items()}
        resolved.update({name: coerce(self.params[name], v) for name, v in params.items()})
        return resolved


def parse_duration(value: object) -> float:
    """Seconds in ``500ms``, ``30s``, ``5m``, ``1h30m``; a non-negative number is seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return float(value)
    elif isinstance(value, str) and _DURATION_RE.fullmatch(value.strip()):
        return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(value.strip()))
    raise CatalogueError(f"{value!r} is not {DURATION_RULE}")


def coerce(param: Param, value: object) -> Any:
    """``value`` as ``param``'s declared type; :class:`CatalogueError` says why it cannot be."""
    kind = param.type
    result: Any
    if kind == "duration":
        try:
            result = parse_duration(value)
        except CatalogueError:
            raise CatalogueError(
                f'param "{param.name}" = {value!r} is not {DURATION_RULE}'
            ) from None
    elif kind == "integer" and _is_int(value):
        result = value
    elif kind == "integer" and isinstance(value, float) and value.is_integer():
        result = int(value)
    elif kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    elif (kind == "string" and isinstance(value, str)) or (
        kind == "boolean" and isinstance(value, bool)
    ):
        result = value
    else:
        article = "an" if kind[0] in "aeiou" else "a"
        raise CatalogueError(
            f'param "{param.name}" = {value!r} is not {article} {kind} (got {type(value).__name__})'
        )
    if param.choices is not None and value not in param.choices:
        allowed = ", ".join(str(c) for c in param.choices)
        raise CatalogueError(f'param "{param.name}" = {value!r} is not one of: {allowed}')
    return result


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_suite(data: object, source: str) -> SuiteInfo:
    """A ``suite.yaml`` document as a SuiteInfo; errors name ``source``, the field and the rule."""
    if not isinstance(data, Mapping):
        raise CatalogueError(f"{source}: must be a mapping with name, description, needs, params")
    allowed = {"name", "description", "markers", "needs", "timeout", "params"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise CatalogueError(
            f"{source}: unknown field {unknown[0]!r}; allowed fields: {', '.join(sorted(allowed))}"
        )
    name = data.get("name")
    description = data.get("description")
    if not isinstance(name, str) or not name:
        raise CatalogueError(f"{source}: name must be a non-empty string (got {name!r})")
    if not isinstance(description, str) or not description.strip() or "\n" in description.strip():
        raise CatalogueError(f"{source}: description must be one non-empty line")
    markers = data.get("markers") or []
    if not isinstance(markers, list) or any(m not in MARKERS for m in markers):
        raise CatalogueError(
            f"{source}: markers={markers!r} must be a list of: {', '.join(MARKERS)}"
        )
    timeout = data.get("timeout", "30m")
    try:
        seconds = parse_duration(timeout)
    except CatalogueError as exc:
        raise CatalogueError(f"{source}: timeout {exc}") from None
    if seconds <= 0:
        raise CatalogueError(f"{source}: timeout must be longer than 0s")
    return SuiteInfo(
        name=name,
        description=description.strip(),
        timeout=str(timeout),
        timeout_seconds=seconds,
        markers=tuple(markers),
        needs=_needs(data.get("needs") or {}, source),
        params=_params(data.get("params") or {}, source),
    )


def _needs(data: object, source: str) -> Needs:
    if not isinstance(data, Mapping) or set(data) - {
        "nodes",
        "datacenters",
        "authentication",
        "tls",
    }:
        raise CatalogueError(
            f"{source}: needs must be a mapping of nodes, datacenters, authentication, tls"
        )
    needs = Needs(**data)
    for key in ("nodes", "datacenters"):
        value = getattr(needs, key)
        if not _is_int(value) or value < 1:
            raise CatalogueError(f"{source}: needs.{key}={value!r} must be a positive integer")
    for key in ("authentication", "tls"):
        if not isinstance(getattr(needs, key), bool):
            raise CatalogueError(f"{source}: needs.{key} must be true or false")
    return needs


def _params(data: object, source: str) -> dict[str, Param]:
    if not isinstance(data, Mapping):
        raise CatalogueError(f"{source}: params must be a mapping of param name to declaration")
    params: dict[str, Param] = {}
    for name, spec in data.items():
        where = f"{source}: params.{name}"
        keys = {"type", "default", "description", "choices"}
        if not isinstance(spec, Mapping):
            raise CatalogueError(f"{where} must be a mapping of {', '.join(sorted(keys))}")
        unknown = sorted(str(k) for k in set(spec) - keys)
        if unknown:
            # The usual cause: an unquoted comma inside a {flow: mapping} splits the text.
            raise CatalogueError(
                f"{where} has unknown keys {unknown} (allowed: {', '.join(sorted(keys))}; "
                "quote a description that contains a comma)"
            )
        kind = spec.get("type")
        if kind not in PARAM_TYPES:
            raise CatalogueError(f"{where}.type={kind!r} must be one of: {', '.join(PARAM_TYPES)}")
        if not isinstance(spec.get("description"), str) or not spec["description"]:
            raise CatalogueError(f"{where}.description must be a non-empty string")
        choices = spec.get("choices")
        if choices is not None and (not isinstance(choices, list) or not choices):
            raise CatalogueError(f"{where}.choices must be a non-empty list")
        param = Param(
            name=str(name),
            type=kind,
            default=spec.get("default"),
            description=spec["description"],
            choices=tuple(choices) if choices is not None else None,
        )
        try:
            coerce(param, param.default)
        except CatalogueError as exc:
            raise CatalogueError(f"{where}.default: {exc}") from None
        params[param.name] = param
    return params


def read_suite(directory: Path) -> SuiteInfo | None:
    """The ``suite.yaml`` of a suite directory, or None when it has none."""
    path = directory / SUITE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from None
    info = parse_suite(data, str(path))
    expected = directory.name.replace("_", "-")
    if info.name != expected:
        raise CatalogueError(f"{path}: name {info.name!r} must be {expected!r} (the directory)")
    return info


def package_name(suite: str) -> str:
    """The package directory of a suite: ``data-types`` lives in ``suites/data_types``."""
    return suite.replace("-", "_")


def read_catalogue(
    root: Path = SUITES_DIR, *, broken: dict[str, str] | None = None
) -> dict[str, SuiteInfo]:
    """Every suite under ``root`` that has a ``suite.yaml``, by suite name, in name order.

    An invalid ``suite.yaml`` raises, unless ``broken`` is given: then its error is recorded
    there under the suite's name, so one broken suite does not hide the rest of the catalogue.
    """
    suites: dict[str, SuiteInfo] = {}
    if not root.is_dir():
        return suites
    for directory in sorted(root.iterdir()):
        if directory.is_dir() and not directory.name.startswith(("_", ".")):
            try:
                info = read_suite(directory)
            except CatalogueError as exc:
                if broken is None:
                    raise
                broken[directory.name.replace("_", "-")] = str(exc)
                continue
            if info is not None:
                suites[info.name] = info
    return dict(sorted(suites.items()))
