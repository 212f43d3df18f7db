"""``cqltest pool list|prune``: what the warm-cluster pools hold, and clearing them out.

Runs with ``spec.cluster.reuse: true`` fill the pools (:mod:`cqltest.local.pooled`); these
commands read the same book under the same lock, so listing also expires dead claims and idle
clusters past their TTL, like any claim would. With ``--kube`` they read (and prune) the pools
the operator keeps in TestRun namespaces instead (:mod:`cqltest.kube.pool`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

from cqltest.cli.options import kubeconfig_option, output_option
from cqltest.local.pool import Entry, Pool
from cqltest.local.state import default_root

_err = Console(stderr=True, soft_wrap=True)
_out = Console()

_OUTPUT = output_option("Format of the result on stdout.")
_KUBE = click.option(
    "--kube", is_flag=True, help="The operator's pools on Kubernetes instead of local ones."
)
_NAMESPACE = click.option(
    "-n", "--namespace", default=None, help="With --kube: only this namespace (default: all)."
)
#: ``prune --all``: every idle cluster counts as past its TTL.
_FOREVER = timedelta(days=365 * 100)
_ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cluster root holding the pools; default $CQLTEST_HOME/clusters.",
)


@click.group()
def pool() -> None:
    """Inspect and prune the pools of warm clusters (spec.cluster.reuse)."""


def _row(pool_name: str, entry: Entry, root: Path) -> dict[str, Any]:
    from cqltest.local import LocalCluster

    state: str = entry.state
    if state == "idle":
        healthy = LocalCluster.exists(entry.name, root) and all(
            s == "UP" for s in LocalCluster.load(entry.name, root).status().values()
        )
        state = "idle" if healthy else "unhealthy"
    claimant = entry.claimant
    return {
        "pool": pool_name,
        "cluster": entry.name,
        "shape": entry.shape,
        "shapeText": entry.shape_text,
        "state": state,
        "dirty": entry.dirty,
        "claimant": None if claimant is None else {"run": claimant.run, "pid": claimant.pid},
        "idleSince": None
        if entry.idle_since is None
        else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.idle_since)),
        "idleTtlSeconds": entry.idle_ttl,
    }


def _print(data: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


def _show(
    rows: list[dict[str, Any]], output: str, nothing: str, claimant: Callable[[Any], str]
) -> None:
    """The rows as JSON/YAML, or a table (with a namespace column for Kubernetes pools)."""
    if output != "table":
        _print(rows, output)
        return
    if not rows:
        _err.print(nothing)
        return
    kube = "namespace" in rows[0]
    table = Table(title="cluster pools (Kubernetes)" if kube else "cluster pools")
    columns = ("pool", "cluster", "shape", "state", "claimant", "idle since")
    for column in ("namespace", *columns) if kube else columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *([row["namespace"]] if kube else []),
            row["pool"],
            row["cluster"],
            row["shapeText"],
            row["state"] + (" (dirty)" if row["dirty"] else ""),
            "" if row["claimant"] is None else claimant(row["claimant"]),
            row["idleSince"] or "",
        )
    _out.print(table)


def _kube_rows(kubeconfig: Path | None, namespace: str | None) -> list[dict[str, Any]]:
    from cqltest.kube.client import Kube
    from cqltest.kube.pool import pool_rows

    kube = Kube.connect(kubeconfig)
    try:
        return pool_rows(kube, namespace, datetime.now(UTC))
    finally:
        kube.close()


@pool.command(name="list")
@_OUTPUT
@_ROOT
@_KUBE
@_NAMESPACE
@kubeconfig_option()
def list_pools(
    output: str, root: Path | None, kube: bool, namespace: str | None, kubeconfig: Path | None
) -> None:
    """Every pooled cluster: shape, state (idle/claimed/provisioning/unhealthy), claimant."""
    if kube:
        rows = _kube_rows(kubeconfig, namespace)
        _show(rows, output, f"no pooled clusters in {namespace or 'any namespace'}", str)
        return
    base = root or default_root()
    rows = [_row(p.name, e, base) for p in Pool.all(base) for e in p.entries()]
    _show(
        rows, output, f"no pooled clusters under {base}", lambda c: f"{c['run']} (pid {c['pid']})"
    )


@pool.command()
@_OUTPUT
@_ROOT
@click.option("--pool", "pool_name", default=None, help="Only this pool (default: every pool).")
@click.option(
    "--all", "everything", is_flag=True, help="Destroy every idle cluster, not only expired ones."
)
@_KUBE
@_NAMESPACE
@kubeconfig_option()
def prune(
    output: str,
    root: Path | None,
    pool_name: str | None,
    everything: bool,
    kube: bool,
    namespace: str | None,
    kubeconfig: Path | None,
) -> None:
    """Destroy expired pooled clusters (idle past their TTL, claimed by a dead run)."""
    if kube:
        destroyed = _kube_prune(kubeconfig, namespace, pool_name, everything)
    else:
        base = root or default_root()
        pools = [p for p in Pool.all(base) if pool_name in (None, p.name)]
        destroyed = [{"pool": p.name, "cluster": n} for p in pools for n in p.prune(everything)]
    if output != "table":
        _print(destroyed, output)
        return
    for item in destroyed:
        _out.print(f"destroyed {item['cluster']} (pool {item['pool']})")
    if not destroyed:
        _err.print("nothing to prune")


def _kube_prune(
    kubeconfig: Path | None, namespace: str | None, pool_name: str | None, everything: bool
) -> list[dict[str, str]]:
    from cqltest.kube.client import Kube, kubeconfig_path
    from cqltest.kube.helm import Releases
    from cqltest.kube.pool import expire_everywhere

    now = datetime.now(UTC) + (_FOREVER if everything else timedelta())
    kube = Kube.connect(kubeconfig)
    try:
        retired = expire_everywhere(
            kube, Releases(kubeconfig_path(kubeconfig)), now, namespace, pool_name
        )
    finally:
        kube.close()
    return [{"namespace": ns, "pool": name, "cluster": release} for ns, name, release in retired]
