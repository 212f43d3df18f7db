"""``cqltest pool list|prune``: what the warm-cluster pools hold, and clearing them out.

Runs with ``spec.cluster.reuse: true`` fill the pools (:mod:`cqltest.local.pooled`); these
commands read the same book under the same lock, so listing also expires dead claims and idle
clusters past their TTL, like any claim would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

from cqltest.cli.options import output_option
from cqltest.local.pool import Entry, Pool
from cqltest.local.state import default_root

_err = Console(stderr=True, soft_wrap=True)
_out = Console()

_OUTPUT = output_option("Format of the result on stdout.")
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


@pool.command(name="list")
@_OUTPUT
@_ROOT
def list_pools(output: str, root: Path | None) -> None:
    """Every pooled cluster: shape, state (idle/claimed/provisioning/unhealthy), claimant."""
    base = root or default_root()
    rows = [_row(p.name, e, base) for p in Pool.all(base) for e in p.entries()]
    if output != "table":
        _print(rows, output)
        return
    if not rows:
        _err.print(f"no pooled clusters under {base}")
        return
    table = Table(title="cluster pools")
    for column in ("pool", "cluster", "shape", "state", "claimant", "idle since"):
        table.add_column(column)
    for row in rows:
        claimant = row["claimant"]
        table.add_row(
            row["pool"],
            row["cluster"],
            row["shapeText"],
            row["state"] + (" (dirty)" if row["dirty"] else ""),
            "" if claimant is None else f"{claimant['run']} (pid {claimant['pid']})",
            row["idleSince"] or "",
        )
    _out.print(table)


@pool.command()
@_OUTPUT
@_ROOT
@click.option("--pool", "pool_name", default=None, help="Only this pool (default: every pool).")
@click.option(
    "--all", "everything", is_flag=True, help="Destroy every idle cluster, not only expired ones."
)
def prune(output: str, root: Path | None, pool_name: str | None, everything: bool) -> None:
    """Destroy expired pooled clusters (idle past their TTL, claimed by a dead run)."""
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
