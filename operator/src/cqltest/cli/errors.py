"""Map cqltest errors to messages and exit codes in one place, for every command.

Commands raise :class:`cqltest.errors.CqltestError` subclasses and never call ``sys.exit``
themselves; :class:`CqltestGroup` (the root group's class) prints the error on stderr and exits
with the error's ``exit_code`` (2 for bad input or a missing prerequisite, 1 otherwise).
"""

from __future__ import annotations

from typing import Any

import click

from cqltest.errors import CqltestError, ManifestError


def render_error(error: CqltestError) -> str:
    """The text shown for an error: one ``path: message`` line per manifest problem."""
    if isinstance(error, ManifestError):
        count = len(error.problems)
        lines = [str(p) for p in error.problems]
        lines.append(f"error: invalid TestRun ({count} problem{'s' if count != 1 else ''})")
        return "\n".join(lines)
    return f"error: {error}"


class CqltestGroup(click.Group):
    """A click group that turns CqltestError into its message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CqltestError as error:
            click.echo(render_error(error), err=True)
            ctx.exit(error.exit_code)
