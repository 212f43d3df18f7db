"""``cqltest localkube ...``: a real Kubernetes on this machine, from a shell.

Thin over :mod:`cqltest.localkube.instance`: parse flags, call, print. Progress goes to stderr
and results to stdout, so ``cqltest localkube up --output json | jq -r .kubeconfig`` works.
Localkubes live under ``${CQLTEST_HOME:-~/.local/share/cqltest}/localkube/<name>`` and keep
running after ``up`` returns, until ``down``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

from cqltest.cli.options import output_option
from cqltest.localkube import binaries, instance

_err = Console(stderr=True, soft_wrap=True)
_out = Console()


def _valid_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    instance.validate_name(value)  # InputError: exit 2, naming the flag, the value and the rule
    return value


_NAME = click.option(
    "--name",
    default=instance.DEFAULT_NAME,
    show_default=True,
    callback=_valid_name,
    help="Which localkube (a DNS label; it also names the node).",
)


@click.group()
def localkube() -> None:
    """A real Kubernetes on this machine: pods run as local processes, K8ssandraClusters as
    local Cassandra clusters."""


@localkube.command()
def install() -> None:
    """Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and helm
    from the Go module proxy into the cache (idempotent: a second run only checks versions)."""
    directory = binaries.install()
    _err.print(f"control-plane binaries ready in {directory}")


def _structured(data: Any, output: str) -> bool:
    """Print ``data`` as JSON or YAML if that is the format asked for; False for a table."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    return output != "table"


def _print(info: dict[str, Any], output: str) -> None:
    if _structured(info, output):
        return
    table = Table(title=f"localkube {info['name']} ({info['state']})")
    for column in ("component", "pid", "alive", "log"):
        table.add_column(column)
    for component in info["components"]:
        style = "green" if component["alive"] else "red"
        row = (component["name"], str(component["pid"]), str(component["alive"]), component["log"])
        table.add_row(*row, style=style)
    _out.print(table)
    _out.print(f"server: {info['server']}  node: {info['node']}")
    click.echo(f"export KUBECONFIG={info['kubeconfig']}")  # whole, never wrapped


@localkube.command()
@_NAME
@click.option(
    "--timeout",
    type=float,
    default=instance.READY_TIMEOUT,
    show_default=True,
    help="Seconds to wait for each readiness condition.",
)
@click.option(
    "--operator/--no-operator",
    default=True,
    show_default=True,
    help="Also serve TestRuns: apply their CRD and run `cqltest operator` as a component.",
)
@output_option("Format of the result on stdout.")
def up(name: str, timeout: float, output: str, operator: bool) -> None:
    """Start etcd, the apiserver, the controllers, the scheduler, the node agent, the
    K8ssandra stand-in and the TestRun operator; return once a Pod can be scheduled. They keep
    running until `down`."""
    started = time.monotonic()
    with _err.status(f"starting localkube {name}"):
        local = instance.up(name, timeout=timeout, operator=operator)
    _err.print(f"localkube [bold]{name}[/bold] up in {time.monotonic() - started:.1f}s")
    _print(local.info(), output)


@localkube.command()
@_NAME
def down(name: str) -> None:
    """Stop every process of the localkube (pods and Cassandra clusters too); remove its files."""
    instance.down(name)
    _err.print(f"localkube [bold]{name}[/bold] removed")


@localkube.command()
@_NAME
@output_option("Format of the result on stdout.")
def status(name: str, output: str) -> None:
    """Show the server, the kubeconfig and whether each component is alive."""
    _print(instance.status(name), output)


@localkube.command(name="list")
@output_option("Format of the result on stdout.")
def list_localkubes(output: str) -> None:
    """List the localkubes under the cqltest home (after reaping those whose owner died)."""
    infos = [local.info() for local in instance.list_instances()]
    if _structured(infos, output):
        return
    if not infos:
        _err.print(f"no localkube under {instance.default_root()}")
        return
    table = Table(title="localkubes")
    for column in ("name", "state", "server", "kubeconfig"):
        table.add_column(column)
    for info in infos:
        table.add_row(info["name"], info["state"], info["server"], info["kubeconfig"])
    _out.print(table)
