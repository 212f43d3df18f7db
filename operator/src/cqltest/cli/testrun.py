"""``cqltest validate``, ``cqltest plan`` and ``cqltest crd``: manifests without running them.

They give a user (or a CI job) the same verdict the operator's admission and semantic checks
would, without a cluster: validate lists every problem, plan shows the dependency waves, crd
prints the CustomResourceDefinition generated from the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from cqltest import plan as planning
from cqltest.cli.options import output_option
from cqltest.model import SuiteSpec, TestRun, load_testrun
from cqltest.render.crd import render_crd_yaml

_FILE = click.Path(exists=False, dir_okay=False, path_type=Path)


@click.command()
@click.argument("file", type=_FILE)
def validate(file: Path) -> None:
    """Check a TestRun manifest; print every problem (exit 2) or OK (exit 0)."""
    run = load_testrun(file)
    count = len(run.spec.suites)
    click.echo(f"OK: TestRun {run.name} ({count} suite{'s' if count != 1 else ''})")


def _what_runs(suite: SuiteSpec) -> str:
    if suite.path is not None:
        return f"path {suite.path}"
    if suite.command is not None:
        return f"command {' '.join(suite.command)}"
    return f"suite {suite.builtin_suite}"


def plan_document(run: TestRun) -> dict[str, object]:
    """The plan as data: the waves, and each suite's wave and dependencies."""
    waves = planning.plan_waves(run.spec)
    wave_of = {name: i + 1 for i, wave in enumerate(waves) for name in wave}
    return {
        "name": run.name,
        "parallelism": run.spec.parallelism,
        "waves": waves,
        "suites": [
            {
                "name": s.name,
                "wave": wave_of[s.name],
                "dependsOn": list(s.depends_on),
                "runs": _what_runs(s),
            }
            for s in run.spec.suites
        ],
    }


def _plan_table(document: dict[str, object]) -> str:
    suites = document["suites"]
    assert isinstance(suites, list)
    rows = [("WAVE", "SUITE", "RUNS", "DEPENDS ON")]
    rows += [
        (str(s["wave"]), s["name"], str(s["runs"]), ", ".join(s["dependsOn"]) or "-")
        for s in sorted(suites, key=lambda s: s["wave"])
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row))
        for row in rows
    ]
    waves = document["waves"]
    assert isinstance(waves, list)
    header = (
        f"TestRun {document['name']}: {len(suites)} suites in {len(waves)} waves, "
        f"parallelism {document['parallelism']}"
    )
    return "\n".join([header, "", *lines])


@click.command()
@click.argument("file", type=_FILE)
@output_option("Output format.")
def plan(file: Path, output: str) -> None:
    """Show the dependency waves a TestRun manifest runs in."""
    document = plan_document(load_testrun(file))
    if output == "json":
        click.echo(json.dumps(document, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
    else:
        click.echo(_plan_table(document))


@click.command()
def crd() -> None:
    """Print the TestRun CustomResourceDefinition (YAML) generated from the model."""
    click.echo(render_crd_yaml(), nl=False)
