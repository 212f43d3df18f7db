"""The per-run cluster release, through pyhelm3 and the real ``helm`` binary.

One release per TestRun, named by :func:`cqltest.render.cluster.release_name`, in the run's
namespace. ``helm upgrade --install`` is idempotent, so an operator restarted halfway through an
install simply installs again; ``uninstall`` of a missing release is a no-op, so teardown can be
repeated too. Helm is never asked to ``--wait``: readiness is judged from the K8ssandraCluster
status and a CQL probe, which say more than Helm can.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pyhelm3

from cqltest.kube.errors import HelmError

HELM_TIMEOUT = "2m"


def helm_executable() -> str:
    """``$CQLTEST_HELM``, the cached build (``cqltest localkube install``), or ``helm`` on PATH."""
    explicit = os.environ.get("CQLTEST_HELM")
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cached = Path(cache) / "cqltest" / "bin" / "helm"
    if os.access(cached, os.X_OK):
        return str(cached)
    found = shutil.which("helm")
    if found is None:
        raise HelmError(
            "helm not found: run `cqltest localkube install` (builds it from the Go module "
            "proxy) or install helm 3 and put it on PATH"
        )
    return found


def chart_path(name: str) -> Path:
    """A chart shipped with cqltest: ``charts/<name>`` of the checkout or ``$CQLTEST_CHARTS``."""
    root = os.environ.get("CQLTEST_CHARTS")
    candidates = [Path(root)] if root else []
    candidates += [parent / "charts" for parent in Path(__file__).resolve().parents]
    for base in candidates:
        if (base / name / "Chart.yaml").exists():
            return base / name
    raise HelmError(f"chart {name!r} not found (set CQLTEST_CHARTS to the charts directory)")


class Releases:
    """Installs and removes releases with one helm client bound to one kubeconfig."""

    def __init__(self, kubeconfig: Path | None) -> None:
        self._client = pyhelm3.Client(
            executable=helm_executable(),
            kubeconfig=kubeconfig,
            default_timeout=HELM_TIMEOUT,
        )
        self._charts: dict[Path, Any] = {}

    async def _chart(self, path: Path) -> Any:
        if path not in self._charts:
            self._charts[path] = await self._client.get_chart(path)
        return self._charts[path]

    def install(self, name: str, chart: Path, values: dict[str, Any], namespace: str) -> None:
        """``helm upgrade --install`` (blocking: the operator calls it from a worker thread)."""
        asyncio.run(self._install(name, chart, values, namespace))

    def uninstall(self, name: str, namespace: str) -> None:
        """``helm uninstall``; a release that is not there is already uninstalled."""
        asyncio.run(self._uninstall(name, namespace))

    async def _install(
        self, name: str, chart: Path, values: dict[str, Any], namespace: str
    ) -> None:
        try:
            await self._client.install_or_upgrade_release(
                name,
                await self._chart(chart),
                values,
                namespace=namespace,
                create_namespace=False,
                wait=False,
                atomic=False,
            )
        except pyhelm3.errors.Error as exc:
            raise HelmError(f"helm upgrade --install {name} in {namespace}: {exc}") from exc

    async def _uninstall(self, name: str, namespace: str) -> None:
        try:
            await self._client.uninstall_release(name, namespace=namespace, wait=False)
        except pyhelm3.errors.Error as exc:
            raise HelmError(f"helm uninstall {name} in {namespace}: {exc}") from exc

    async def template(
        self, name: str, chart: Path, values: dict[str, Any], namespace: str
    ) -> list[dict[str, Any]]:
        rendered = await self._client.template_resources(
            await self._chart(chart), name, values, namespace=namespace
        )
        return [dict(resource) for resource in rendered]
