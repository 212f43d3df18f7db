"""``cqltest suites``: the built-in suite catalogue, so a user can write a TestRun without a guide.

It prints what each suite's ``suite.yaml`` declares (what it proves, what it needs from the
cluster, its params with types and defaults, its default timeout): the same data ``cqltest
validate`` checks a manifest against, so what this lists is exactly what a TestRun may name.
"""

from __future__ import annotations

import json

import click
import yaml
from rich.console import Console
from rich.table import Table

from cqltest.cli.options import output_option
from cqltest.model.loading import builtin_catalogue

_out = Console(soft_wrap=False)
_err = Console(stderr=True)


@click.command()
@output_option("table for people, json or yaml for scripts (every param with its declaration)")
def suites(output: str) -> None:
    """List the built-in suites: what each proves, needs and accepts (exit 1 if one is broken)."""
    catalogue = builtin_catalogue()
    document = [info.to_json() for info in catalogue.suites.values()]
    if output == "json":
        click.echo(json.dumps(document, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
    else:
        table = Table(title="built-in suites")
        for column in ("suite", "what it proves", "needs", "params (default)", "timeout"):
            table.add_column(column, overflow="fold")
        for info in catalogue.suites.values():
            params = "\n".join(f"{p.name}={p.default!s} ({p.type})" for p in info.params.values())
            needs = info.needs.describe()
            table.add_row(info.name, info.description, needs, params or "-", info.timeout)
        _out.print(table)
    for name, error in catalogue.broken.items():
        _err.print(f"[red]suite {name} is not usable:[/red] {error}", markup=True, highlight=False)
    if catalogue.broken:
        raise click.exceptions.Exit(1)
