"""``cqltest operator``: log in, start the metrics server, and run kopf until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import kopf
from prometheus_client import start_http_server

import cqltest.operator.handlers  # noqa: F401  (registers the handlers with kopf)
from cqltest.kube.client import Kube, kubeconfig_path
from cqltest.kube.helm import Releases
from cqltest.kube.world import Settings
from cqltest.operator import namespaces as namespace_watch
from cqltest.operator import runtime

_M_ARENA_MAX = -8


def _few_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core); with
    the reconcile threads that costs tens of MB of RSS for nothing, so cap them at two."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 2)


def run(
    *,
    kubeconfig: Path | None,
    namespaces: Sequence[str],
    default_image: str,
    liveness_port: int | None,
    metrics_port: int | None,
    stop_flag: threading.Event | None = None,
) -> None:
    """Block, serving the namespaces given (all of them when empty), until stopped."""
    _few_malloc_arenas()
    path = kubeconfig_path(kubeconfig)
    if path is not None:
        # kopf's kubeconfig login reads KUBECONFIG when it logs in, not when it was imported.
        os.environ["KUBECONFIG"] = str(path)
    rt = runtime.Runtime(
        kube=Kube.connect(path),
        releases=Releases(path),
        settings=Settings(default_image=default_image, kubeconfig=path),
        namespaces=tuple(namespaces),
    )
    runtime.configure(rt)
    namespace_watch.install()
    if metrics_port is not None:
        start_http_server(metrics_port, addr="0.0.0.0", registry=rt.metrics.registry)
    liveness = f"http://0.0.0.0:{liveness_port}/healthz" if liveness_port else None
    try:
        asyncio.run(
            kopf.operator(
                namespaces=list(namespaces),
                clusterwide=not namespaces,
                standalone=True,
                liveness_endpoint=liveness,
                stop_flag=stop_flag,
            )
        )
    finally:
        rt.kube.close()
