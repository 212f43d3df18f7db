"""How a finished attempt's exit code and SuiteResult become its state: one rule for both modes.

A local subprocess and a test pod report the same two facts (an exit code, and the result the
suite wrote, if any), so the same attempt ends in the same state with the same reason whether it
ran under ``cqltest run`` or the operator.
"""

from __future__ import annotations

from cqltest.model import AttemptState, SuiteResult

NO_RESULT = "wrote no result"


def exit_verdict(
    code: int,
    result: SuiteResult | None,
    *,
    own_command: bool,
    tail: str = "",
    problem: str = NO_RESULT,
) -> tuple[AttemptState, str | None]:
    """The attempt's state and reason; ``tail`` ends reasons that quote the suite's output.

    ``problem`` says why ``result`` is None (no result at all, or a corrupt one).
    """
    if result is None:
        if own_command and problem == NO_RESULT:
            # A bring-your-own command need not speak the result contract: its exit code is
            # its verdict.
            if code == 0:
                return "Succeeded", None
            return "Failed", f"command exited with code {code}{tail}"
        return "Error", f"suite process exited with code {code} and {problem}{tail}"
    if result.outcome == "passed":
        if code != 0:
            return "Error", f"suite reported passed but exited with code {code}{tail}"
        return "Succeeded", None
    if result.outcome == "failed":
        return "Failed", None
    first = result.failures[0].message if result.failures else f"exit code {code}"
    return "Error", f"suite could not run: {first}"
