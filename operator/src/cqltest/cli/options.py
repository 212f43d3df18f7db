"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from collections.abc import Callable
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
