"""A container's environment and command line, resolved as the kubelet resolves them.

The kubelet (``pkg/kubelet/kubelet_pods.go`` ``makeEnvironmentVariables``) first applies
``envFrom`` (ConfigMaps and Secrets, with ``prefix`` and ``optional``), then ``env`` in order;
a literal ``value`` may reference earlier variables as ``$(VAR)``, ``valueFrom`` values are
never expanded, and ``command``/``args`` are expanded against the final environment
(``third_party/forked/golang/expansion``: ``$$`` is a literal ``$``, an unknown ``$(X)`` stays
as written). A missing Secret, ConfigMap or key that is not ``optional`` raises
:class:`ConfigError` with the kubelet's message; the pod then waits with
``CreateContainerConfigError`` and is retried.

Pure: API objects are fetched through the ``fetch`` callable the caller supplies.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cqltest.localkube.agent.fields import ConfigError, field_value, resource_value

#: fetch(resource, namespace, name) -> the API object as JSON, or None when it does not exist;
#: resource is "secrets" or "configmaps".
Fetch = Callable[[str, str, str], Mapping[str, Any] | None]

_KINDS = {"secrets": "Secret", "configmaps": "ConfigMap"}
_NOT_FOUND = {"secrets": "secret", "configmaps": "configmap"}


def expand(text: str, mapping: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion (not shell expansion)."""
    out: list[str] = []
    cursor = 0
    checkpoint = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            following = text[cursor + 1]
            if following == "$":
                out.append("$")
                advance = 1
            elif following == "(":
                close = text.find(")", cursor + 2)
                if close == -1:
                    out.append("$(")
                    advance = 1
                else:
                    name = text[cursor + 2 : close]
                    out.append(mapping.get(name, f"$({name})"))
                    advance = close - cursor
            else:
                out.append("$" + following)
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def object_data(resource: str, obj: Mapping[str, Any]) -> dict[str, bytes]:
    """Every key of a Secret (base64 ``data``, ``stringData`` never stored) or a ConfigMap
    (``data`` and base64 ``binaryData``) as bytes."""
    result: dict[str, bytes] = {}
    if resource == "secrets":
        for key, value in (obj.get("data") or {}).items():
            result[key] = base64.b64decode(value)
        return result
    for key, value in (obj.get("data") or {}).items():
        result[key] = str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        result[key] = base64.b64decode(value)
    return result


def lookup(
    fetch: Fetch, resource: str, namespace: str, name: str, *, optional: bool
) -> dict[str, bytes] | None:
    """The object's data, None when it is missing and optional; ConfigError when required."""
    obj = fetch(resource, namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{_NOT_FOUND[resource]} "{name}" not found')
    return object_data(resource, obj)


def key_value(fetch: Fetch, resource: str, namespace: str, ref: Mapping[str, Any]) -> str | None:
    """``secretKeyRef``/``configMapKeyRef``: the key's value, None if optional and absent."""
    optional = bool(ref.get("optional", False))
    name = str(ref.get("name", ""))
    key = str(ref.get("key", ""))
    data = lookup(fetch, resource, namespace, name, optional=optional)
    if data is None:
        return None
    if key not in data:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {_KINDS[resource]} {namespace}/{name}")
    return data[key].decode(errors="replace")


def _env_from(fetch: Fetch, namespace: str, sources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in sources:
        prefix = str(source.get("prefix") or "")
        for field_name, resource in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            ref = source.get(field_name)
            if ref is None:
                continue
            data = lookup(
                fetch, resource, namespace, str(ref.get("name", "")),
                optional=bool(ref.get("optional", False)),
            )  # fmt: skip
            for key, value in (data or {}).items():
                # An '=' cannot be in a name; the kubelet skips such keys with an event.
                if "=" not in prefix + key:
                    env[prefix + key] = value.decode(errors="replace")
    return env


def resolve_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    fetch: Fetch,
    *,
    allocatable: Mapping[str, str],
    service_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables the pod spec gives this container, in kubelet order (later wins)."""
    namespace = str(pod.get("metadata", {}).get("namespace", "default"))
    env = _env_from(fetch, namespace, container.get("envFrom") or [])
    for var in container.get("env") or []:
        name = str(var["name"])
        source = var.get("valueFrom")
        if source is None:
            mapping = {**(service_env or {}), **env}
            env[name] = expand(str(var.get("value") or ""), mapping)
            continue
        value: str | None
        if "fieldRef" in source:
            value = field_value(pod, str(source["fieldRef"].get("fieldPath", "")))
        elif "resourceFieldRef" in source:
            value = resource_value(
                pod, str(container.get("name")), source["resourceFieldRef"], allocatable
            )
        elif "secretKeyRef" in source:
            value = key_value(fetch, "secrets", namespace, source["secretKeyRef"])
        elif "configMapKeyRef" in source:
            value = key_value(fetch, "configmaps", namespace, source["configMapKeyRef"])
        else:
            raise ConfigError(f"env var {name}: unsupported valueFrom {sorted(source)}")
        if value is not None:
            env[name] = value
    return env


def command_line(container: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """``command`` + ``args`` with ``$(VAR)`` expanded; ConfigError when there is no command
    (there is no image whose entrypoint could stand in)."""
    command = [expand(str(part), env) for part in container.get("command") or []]
    args = [expand(str(part), env) for part in container.get("args") or []]
    if not command:
        raise ConfigError(
            f"container {container.get('name')!r} has no command: localkube runs no images, "
            "so every container needs `command` (the image's entrypoint is unknown)"
        )
    return [*command, *args]
