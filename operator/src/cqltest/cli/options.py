"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def output_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-o/--output table|json|yaml``, default table."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json", "yaml"]),
        default="table",
        show_default=True,
        help=help_text,
    )


def kubeconfig_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--kubeconfig``, resolved as the kubernetes client does when it is not given."""
    return click.option(
        "--kubeconfig",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Kubeconfig to log in with; default $KUBECONFIG, ~/.kube/config, then in-cluster.",
    )
