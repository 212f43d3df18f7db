"""A JSON view of the Kubernetes API for the agent: plain dicts in and out, and watches.

The agent handles pods as the JSON the apiserver sends (the pure modules read camelCase
fields), so it goes through the ``kubernetes`` client's configuration, TLS and connection pool
but not its generated models: :meth:`Api.request` returns the decoded body, and
:meth:`Api.watch` yields watch events as dicts. Errors become :class:`ApiError` with the HTTP
status, so callers can tell "not found" (404) and "gone" (410) from failures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from kubernetes import client, config
from kubernetes.watch.watch import iter_resp_lines

from cqltest.localkube.errors import LocalkubeError

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


class ApiError(LocalkubeError):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")


class Api:
    """One connection pool to the apiserver, shared by the agent's threads."""

    def __init__(self, kubeconfig: str) -> None:
        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=configuration
        )
        # Several threads (pod workers, watches, the lease) share the pool.
        configuration.connection_pool_maxsize = 32
        self.server: str = configuration.host
        #: The CA that signs the apiserver's certificate (pods get it as ca.crt).
        self.ca_pem = b""
        if configuration.ssl_ca_cert:
            with open(configuration.ssl_ca_cert, "rb") as handle:
                self.ca_pem = handle.read()
        self._client = client.ApiClient(configuration)

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str | None,
        timeout: float | tuple[float, float] | None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        params = list((query or {}).items())
        _, url, headers, body, _ = self._client.param_serialize(
            method, path, query_params=params, header_params=headers, body=body,
            auth_settings=["BearerToken"],
        )  # fmt: skip
        return self._client.call_api(method, url, headers, body, _request_timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """The decoded JSON body; ApiError for any status outside 2xx."""
        response = self._send(method, path, query, body, content_type, timeout)
        data = response.read()
        if not 200 <= response.status < 300:
            raise ApiError(response.status, method, path, data.decode(errors="replace"))
        decoded: dict[str, Any] = json.loads(data) if data else {}
        return decoded

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        return self.request("GET", path, query=query)

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            return self.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int = 300, **query: Any
    ) -> Iterator[dict[str, Any]]:
        """Watch events ({type, object}) from `resource_version` until the server ends the
        watch; an ERROR event (410 Gone when the version is too old) raises ApiError."""
        params = {
            **query,
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        response = self._send("GET", path, params, None, None, (10, timeout_seconds + 30))
        if not 200 <= response.status < 300:
            data = response.read()
            raise ApiError(response.status, "WATCH", path, data.decode(errors="replace"))
        try:
            for line in iter_resp_lines(response.response):  # type: ignore[no-untyped-call]
                if not line:
                    continue
                event: dict[str, Any] = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise ApiError(int(status.get("code", 500)), "WATCH", path, str(status))
                yield event
        finally:
            response.response.release_conn()
