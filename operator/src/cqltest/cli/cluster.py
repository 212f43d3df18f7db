"""``cqltest cluster ...``: manage real local Cassandra clusters from a shell.

Thin over :mod:`cqltest.local`: parse flags, call ``LocalCluster``, print. Progress goes to
stderr (rich) and results to stdout, so ``cqltest cluster up --output json | jq`` works. Clusters
live under ``${CQLTEST_HOME:-~/.local/share/cqltest}/clusters/<name>``, so every command works
across processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cqltest.errors import InputError
from cqltest.local import ClusterInfo, ClusterSpec, LocalCluster, ensure_jars, parse_dcs
from cqltest.local.classarchive import build_class_archive
from cqltest.local.jars import DEFAULT_VERSION, find_java, resolve_version
from cqltest.local.state import default_root

_OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Format of the result on stdout.",
)
_NAME = click.option("--name", default="default", show_default=True, help="Cluster name.")
_TIMEOUT = click.option(
    "--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for readiness."
)

_err = Console(stderr=True, soft_wrap=True)
_out = Console()


@click.group()
def cluster() -> None:
    """Start, inspect, fault and stop local Cassandra clusters."""


def _progress() -> Any:
    """A ``(node, message)`` callback printing timestamped progress lines on stderr."""
    started = time.monotonic()

    def on_event(node: str, message: str) -> None:
        _err.print(f"[dim]{time.monotonic() - started:6.1f}s[/dim] [bold]{node}[/bold] {message}")

    return on_event


def _print_info(info: ClusterInfo, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(info.to_dict(), indent=2))
        return
    table = Table(title=f"cluster {info.name}")
    table.add_column("datacenter")
    table.add_column("nodes")
    for dc, addresses in info.datacenters.items():
        table.add_row(dc, ", ".join(addresses))
    _out.print(table)
    _out.print(
        f"Cassandra {info.version}  contact points: {','.join(info.contact_points)}  "
        f"port: {info.port}"
    )
    if info.username:
        _out.print(f"username: {info.username}  password: {info.password}")
    if info.ca_path:
        _out.print(f"CA certificate: {info.ca_path}")


@cluster.command()
@_NAME
@click.option("--dcs", default="dc1:1", show_default=True, help="Datacenters as NAME:NODES,...")
@click.option("--racks", type=int, default=1, show_default=True, help="Racks per datacenter.")
@click.option("--auth", is_flag=True, help="PasswordAuthenticator; a superuser is created.")
@click.option("--tls", is_flag=True, help="Client and internode TLS with a generated CA.")
@click.option("--version", "version", default=None, help=f"Cassandra version [{DEFAULT_VERSION}].")
@click.option("--heap", default="256M", show_default=True, help="JVM heap per node.")
@_TIMEOUT
@_OUTPUT
def up(
    name: str,
    dcs: str,
    racks: int,
    auth: bool,
    tls: bool,
    version: str | None,
    heap: str,
    timeout: float,
    output: str,
) -> None:
    """Create and start a cluster, wait until every node sees every peer UP, print how to reach it.

    If the start fails, the cluster is removed again and the error shows the node's log tail.
    An existing cluster of the same name and shape is started again instead (its data kept).
    """
    spec = ClusterSpec(
        name=name,
        datacenters=parse_dcs(dcs, racks),
        authentication=auth,
        client_tls=tls,
        internode_tls=tls,
        version=version,
        heap=heap,
    )
    LocalCluster.reap_orphans()  # a crashed run's cluster of this name is not to be resumed
    resumed = LocalCluster.exists(name)
    if resumed:
        local = LocalCluster.load(name)
        if local.state.spec != spec:
            raise InputError(
                f"cluster {name!r} already exists with another shape or settings "
                f"({_describe(local.state.spec)}); remove it first with "
                f"'cqltest cluster down --name {name}'"
            )
    else:
        with _err.status("fetching Cassandra jars and writing configuration"):
            local = LocalCluster.create(spec)
    nodes = sum(dc.nodes for dc in spec.datacenters)
    verb = "resuming" if resumed else "starting"
    _err.print(f"{verb} {nodes} node(s) of cluster [bold]{name}[/bold] in {local.directory}")
    try:
        info = local.start(timeout=timeout, on_event=_progress())
    except BaseException:
        if resumed:
            local.stop()
        else:
            local.destroy()
        raise
    _print_info(info, output)


def _describe(spec: ClusterSpec) -> str:
    dcs = ",".join(f"{dc.name}:{dc.nodes}" for dc in spec.datacenters)
    flags = [name for name, on in (("auth", spec.authentication), ("tls", spec.client_tls)) if on]
    return " ".join([f"--dcs {dcs}", *(f"--{flag}" for flag in flags)])


@cluster.command()
@_NAME
@_OUTPUT
def status(name: str, output: str) -> None:
    """Show each node's address, datacenter, rack, pid and UP/DOWN/PAUSED state."""
    local = LocalCluster.load(name)
    states = local.status()
    rows = [
        {
            "node": node.plan.name,
            "address": node.plan.address,
            "datacenter": node.plan.datacenter,
            "rack": node.plan.rack,
            "seed": node.plan.seed,
            "jmx_port": node.plan.jmx_port,
            "pid": node.pid if states[node.plan.address] != "DOWN" else None,
            "status": states[node.plan.address],
        }
        for node in local.state.nodes
    ]
    if output == "json":
        click.echo(json.dumps({**local.info().to_dict(), "nodes": rows}, indent=2))
        return
    columns = ("node", "address", "datacenter", "rack", "jmx_port", "pid", "status")
    table = Table(title=f"cluster {name} ({local.directory})")
    for column in columns:
        table.add_column(column)
    for row in rows:
        style = {"UP": "green", "PAUSED": "yellow"}.get(str(row["status"]), "red")
        table.add_row(*(str(row[c] if row[c] is not None else "-") for c in columns), style=style)
    _out.print(table)


@cluster.command()
@_NAME
def down(name: str) -> None:
    """Stop every node and remove the cluster's directory."""
    LocalCluster.load(name).destroy()
    _err.print(f"cluster [bold]{name}[/bold] removed")


@cluster.command(name="list")
@_OUTPUT
def list_clusters(output: str) -> None:
    """List the clusters under the cqltest home and how many nodes of each are UP."""
    entries: list[dict[str, Any]] = []
    for local in LocalCluster.list():
        states = local.status()
        entries.append(
            {
                "name": local.name,
                "version": local.state.version,
                "nodes": len(states),
                "up": sum(1 for s in states.values() if s == "UP"),
                "datacenters": local.info().datacenters,
            }
        )
    if output == "json":
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        _err.print(f"no clusters under {default_root()}")
        return
    table = Table(title="local clusters")
    for column in ("name", "version", "nodes", "up", "datacenters"):
        table.add_column(column)
    for entry in entries:
        dcs = ", ".join(f"{dc}:{len(a)}" for dc, a in entry["datacenters"].items())
        table.add_row(entry["name"], entry["version"], str(entry["nodes"]), str(entry["up"]), dcs)
    _out.print(table)


def _node_command(
    verb: str, done: str, doc: str, action: Callable[[LocalCluster, str], None]
) -> None:
    """Register ``cqltest cluster VERB NODE [--name NAME]`` (the verbs differ only here)."""

    @cluster.command(name=verb, help=doc)
    @click.argument("node")
    @_NAME
    def command(node: str, name: str) -> None:
        action(LocalCluster.load(name), node)
        _err.print(f"{node} {done}")


_node_command(
    "stop",
    "stopped",
    "Stop NODE (an address or a name like node2) cleanly.",
    LocalCluster.stop_node,
)
_node_command("kill", "killed", "Kill NODE with SIGKILL, like a crash.", LocalCluster.kill_node)
_node_command(
    "pause",
    "paused",
    "Freeze NODE with SIGSTOP: it keeps its sockets but answers nothing, like a hung machine.",
    LocalCluster.pause_node,
)
_node_command(
    "resume", "resumed", "Let a paused NODE run again (SIGCONT).", LocalCluster.resume_node
)


@cluster.command()
@click.argument("node")
@_NAME
@_TIMEOUT
def start(node: str, name: str, timeout: float) -> None:
    """Start NODE again and wait until it and its peers see each other UP."""
    LocalCluster.load(name).start_node(node, timeout=timeout, on_event=_progress())
    _err.print(f"{node} is UP")


@cluster.command()
@click.option("--version", "version", default=None, help=f"Cassandra version [{DEFAULT_VERSION}].")
def install(version: str | None) -> None:
    """Fetch the Cassandra jars with Maven into the cache, check Java, and prepare the CDS archive.

    Idempotent: a second run only checks. The class-data-sharing archive (dumped by one
    throwaway node the first time) makes every later node start with less CPU.
    """
    version = resolve_version(version)
    java = find_java()
    with _err.status(f"fetching Cassandra {version} jars with Maven"):
        lib = ensure_jars(version)
    _err.print(f"Cassandra {version} jars in {lib}; Java: {java}")
    with _err.status("preparing the class-data-sharing archive (one throwaway node)"):
        archive = build_class_archive(version)
    _err.print(f"class-data-sharing archive: {archive or 'not written (nodes start without it)'}")
