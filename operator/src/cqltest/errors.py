"""The one error hierarchy of the cqltest package.

Every error the platform raises on purpose derives from :class:`CqltestError`, and
carries the process exit code the CLI uses, so the CLI maps errors to exit codes in
one place and CI pipelines can tell bad input (2) from a failed run (1).
"""

from __future__ import annotations


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
