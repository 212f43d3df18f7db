"""Run the README's ```console blocks and check that they print what the README says.

A README whose examples are not executed rots: a renamed flag or a reworded error makes it lie
without anyone noticing. So every ```console block in README.md is a test, with this format:

- A block opening with ```` ```console ```` is run by ``tests/unit/test_readme.py`` (fast, no
  Cassandra, no Kubernetes); ```` ```console cassandra ```` needs a real local cluster and is
  run by ``tests/cassandra/test_readme_run.py``; ```` ```console localkube ```` starts (and
  stops) a localkube and is run by ``tests/localkube/test_readme_localkube.py``. Any other
  ``console ...`` info string is an error.
- ``$ `` starts a command; a command line ending in `` \\`` continues on the next line. A trailing
  comment ``# exit N`` gives the expected exit code (default 0); bash ignores it, so the line
  still pastes into a shell unchanged.
- Every other line up to the next command is the expected output: stdout and stderr together,
  in the order they were written (as a terminal shows them when stdout is not a terminal).
- Matching is line by line. Trailing whitespace is ignored, leading whitespace is optional and
  any run of spaces inside a line matches any run of spaces (so table columns may shift). A line
  that is exactly ``...`` matches any number of lines, none included. Inside a line these
  placeholders match a variable part: ``<n>`` a number, ``<duration>`` like ``12.3s`` or
  ``1m2s``, ``<timestamp>`` an ISO 8601 time, ``<path>`` a path without spaces, ``<any>`` any
  text. Everything else is literal (``<testsuite>`` in XML is just text).
- Commands run in bash (``-o pipefail``) from the repository root with the venv's ``bin`` first
  on ``PATH``, ``CQLTEST_HOME`` set to a scratch directory (clusters and run logs never touch the
  user's), ``COLUMNS=100`` and ``NO_COLOR=1``. Each program a command runs must be in
  :data:`PROGRAMS`: a README example has no business running anything else, and a typo fails
  loudly instead of printing "command not found". Localkube examples also have the
  control-plane binaries' directory (``kubectl``) on ``PATH`` and ``HOME`` set to a scratch
  directory holding that ``CQLTEST_HOME`` at its default place, ``~/.local/share/cqltest``, so
  the README can name the kubeconfig by the path a reader's localkube has.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PROGRAMS = frozenset({"cqltest", "cat", "head", "tail", "grep", "sed", "diff", "python", "kubectl"})
CASSANDRA = "cassandra"
LOCALKUBE = "localkube"

_FENCE = re.compile(r"^```(.*)$")
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
_PLACEHOLDERS = {
    "<n>": r"-?\d+(?:\.\d+)?",
    "<duration>": r"(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s|(?:\d+h)?\d+m|\d+h",
    "<timestamp>": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?",
    "<path>": r"\S+",
    "<any>": r".*?",
}
_TOKEN = re.compile("|".join(re.escape(p) for p in _PLACEHOLDERS) + r"| +")
_SEPARATORS = {"|", "||", "&&", ";"}


class ReadmeFormatError(AssertionError):
    """A console block the harness cannot run as written: a test failure, never a skip."""


@dataclass(frozen=True)
class Example:
    """One ``$ command`` of a console block and what it must print and return."""

    command: str
    expected: tuple[str, ...]
    exit_code: int
    line: int
    """1-based line of the command in the README, for failure messages."""
    cassandra: bool
    localkube: bool = False

    @property
    def label(self) -> str:
        return f"README.md:{self.line}: {self.command}"


@dataclass(frozen=True)
class Block:
    """One fenced code block: its info string, first body line (1-based) and body lines."""

    info: str
    line: int
    body: tuple[str, ...]


def blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown text, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        i += 1
        if fence is None:
            continue
        start = i
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        if i == len(lines):
            raise ReadmeFormatError(f"README.md:{start}: code block is never closed")
        found.append(Block(fence.group(1).strip(), start + 1, tuple(lines[start:i])))
        i += 1
    return found


def parse(text: str) -> list[Example]:
    """Every example of every console block, in README order."""
    examples: list[Example] = []
    for block in blocks(text):
        words = block.info.split()
        if not words or words[0] != "console":
            continue
        if words[1:] not in ([], [CASSANDRA], [LOCALKUBE]):
            raise ReadmeFormatError(
                f"README.md:{block.line - 1}: unknown console block kind {block.info!r}; use "
                f"'console', 'console {CASSANDRA}' or 'console {LOCALKUBE}'"
            )
        examples += _parse_block(
            list(block.body),
            block.line,
            cassandra=words[1:] == [CASSANDRA],
            localkube=words[1:] == [LOCALKUBE],
        )
    return examples


def _parse_block(
    body: list[str], first_line: int, *, cassandra: bool, localkube: bool
) -> list[Example]:
    examples: list[Example] = []
    j = 0
    if not body or not body[0].startswith("$ "):
        raise ReadmeFormatError(
            f"README.md:{first_line}: a console block must start with a '$ ' command line"
        )
    while j < len(body):
        line_no = first_line + j
        command = body[j][2:]
        while command.endswith("\\"):
            j += 1
            if j == len(body):
                raise ReadmeFormatError(f"README.md:{line_no}: continuation line missing")
            command = command[:-1].rstrip() + " " + body[j].strip()
        j += 1
        expected: list[str] = []
        while j < len(body) and not body[j].startswith("$ "):
            expected.append(body[j])
            j += 1
        while expected and not expected[-1].strip():
            expected.pop()
        exit_match = _EXIT.search(command)
        exit_code = int(exit_match.group(1)) if exit_match else 0
        if exit_match:
            command = command[: exit_match.start()]
        check_programs(command, line_no)
        examples.append(
            Example(
                command.strip(),
                tuple(expected),
                exit_code,
                line_no,
                cassandra=cassandra,
                localkube=localkube,
            )
        )
    return examples


def check_programs(command: str, line_no: int) -> None:
    """Refuse a command running a program outside :data:`PROGRAMS` (or one bash cannot parse)."""
    if "$(" in command or "`" in command:
        raise ReadmeFormatError(
            f"README.md:{line_no}: {command!r}: no command substitution in README examples"
        )
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError as error:
        raise ReadmeFormatError(f"README.md:{line_no}: cannot parse {command!r}: {error}") from None
    starts = [0] + [k + 1 for k, token in enumerate(tokens) if token in _SEPARATORS]
    for k in starts:
        if k >= len(tokens) or tokens[k] not in PROGRAMS:
            found = tokens[k] if k < len(tokens) else "nothing"
            raise ReadmeFormatError(
                f"README.md:{line_no}: {command!r} runs {found!r}; README examples may run "
                f"only {', '.join(sorted(PROGRAMS))}"
            )


@functools.lru_cache(maxsize=512)
def _line_pattern(expected: str) -> re.Pattern[str]:
    parts: list[str] = []
    pos = 0
    text = expected.strip()
    for token in _TOKEN.finditer(text):
        parts.append(re.escape(text[pos : token.start()]))
        word = token.group()
        parts.append(" +" if word.startswith(" ") else f"(?:{_PLACEHOLDERS[word]})")
        pos = token.end()
    parts.append(re.escape(text[pos:]))
    return re.compile(" *" + "".join(parts))


def line_matches(expected: str, actual: str) -> bool:
    """Whether one output line matches one expected line (placeholders, flexible spaces)."""
    return _line_pattern(expected).fullmatch(actual.rstrip()) is not None


def output_matches(expected: tuple[str, ...] | list[str], actual: str) -> bool:
    """Whether the whole output matches the expected lines, ``...`` matching any lines."""
    got = actual.splitlines()
    while got and not got[-1].strip():
        got.pop()

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(got)
        if expected[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and line_matches(expected[i], got[j]) and match(i + 1, j + 1)

    return match(0, 0)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str


def environment(home: Path) -> dict[str, str]:
    """The environment every example runs in (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(CQLTEST_HOME=str(home), COLUMNS="100", NO_COLOR="1")
    env.pop("FORCE_COLOR", None)
    return env


def run(example: Example, home: Path, timeout: float) -> Outcome:
    """Run one example; past ``timeout`` its process group gets a Ctrl-C (so ``cqltest run``
    tears its cluster down), then a kill, and the example fails."""
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", example.command],
        cwd=REPO,
        env=environment(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        raise AssertionError(f"{example.label}: still running after {timeout}s\n{out}") from None
    return Outcome(proc.returncode, out)


def check(example: Example, home: Path, timeout: float = 60.0) -> Outcome:
    """Run an example and fail with both texts unless its exit code and output match."""
    outcome = run(example, home, timeout)
    problems = []
    if outcome.exit_code != example.exit_code:
        problems.append(f"exit code {outcome.exit_code}, README says {example.exit_code}")
    if not output_matches(example.expected, outcome.output):
        problems.append("output differs")
    if problems:
        raise AssertionError(
            f"{example.label}: {'; '.join(problems)}\n"
            f"--- README expects:\n" + "\n".join(example.expected) + "\n"
            f"--- command printed:\n{outcome.output}"
        )
    return outcome


def examples(*, cassandra: bool, localkube: bool = False) -> list[Example]:
    """The README's examples of one kind: fast (neither), needing Cassandra, or a localkube."""
    return [
        e
        for e in parse(README.read_text(encoding="utf-8"))
        if e.cassandra == cassandra and e.localkube == localkube
    ]
