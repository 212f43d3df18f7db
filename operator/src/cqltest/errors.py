"""The one error hierarchy of the cqltest package.

Every error the platform raises on purpose derives from :class:`CqltestError`, and
carries the process exit code the CLI uses, so the CLI maps errors to exit codes in
one place and CI pipelines can tell bad input (2) from a failed run (1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CqltestError(Exception):
    """Base of every error cqltest raises deliberately."""

    exit_code: int = 1


class InputError(CqltestError):
    """The user gave input that cannot be acted on: a malformed flag, manifest or name.

    Nothing has been created when this is raised.
    """

    exit_code = 2


class SetupError(CqltestError):
    """The machine lacks something cqltest needs (Java, Maven, a binary), or it failed to install.

    The message says what is missing and how to install it.
    """

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where (``spec.suites[2].dependsOn[0]``), what, and why."""

    path: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ManifestError(InputError):
    """A TestRun manifest is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        header = f"invalid TestRun: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))


class ClusterError(CqltestError):
    """A local Cassandra cluster did not come up: a node died at start or never became ready.

    The message names the node and includes the tail of its log.
    """

    exit_code = 2
