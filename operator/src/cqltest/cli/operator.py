"""``cqltest operator``: run the TestRun operator in the foreground (what the chart's pod runs)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cqltest.cli.options import kubeconfig_option

DEFAULT_IMAGE = "ghcr.io/cqltest/cqltest-suites:0.1.0"


@click.command("operator")
@kubeconfig_option()
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Namespace to serve (repeatable); default: every namespace.",
)
@click.option(
    "--default-image",
    default=DEFAULT_IMAGE,
    show_default=True,
    help="Test image for suites that name none (and for the CQL probe).",
)
@click.option("--liveness-port", type=int, default=8080, show_default=True)
@click.option("--metrics-port", type=int, default=9090, show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Log every reconcile.")
def operator(
    kubeconfig: Path | None,
    namespaces: tuple[str, ...],
    default_image: str,
    liveness_port: int,
    metrics_port: int,
    verbose: bool,
) -> None:
    """Watch TestRuns and run them: cluster through Helm, one Job per attempt, status."""
    from cqltest.operator.main import run

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # kopf logs every handler call at INFO: one line per Job event of every run.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    run(
        kubeconfig=kubeconfig,
        namespaces=namespaces,
        default_image=default_image,
        liveness_port=liveness_port or None,
        metrics_port=metrics_port or None,
    )
