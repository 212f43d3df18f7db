"""README.md's examples run as tests, so the README cannot drift from the CLI.

Every ```console block (format in ``tests/readme_console.py``) runs here, except the ones marked
``console cassandra``, which ``tests/cassandra/test_readme_run.py`` runs against a real cluster,
and ``console localkube``, which ``tests/localkube/test_readme_localkube.py`` runs against a
real localkube.
The matcher itself is tested too: a harness that accepted any output would prove nothing. The
plain ``` blocks (the quick start, the cluster synopsis) print nothing worth pinning, so their
command lines are checked to parse: every ``make`` target exists and every ``cqltest`` line is
accepted by the real click commands.
"""

from __future__ import annotations

import re
import shlex
import sys
import warnings
from pathlib import Path

import click
import pytest
from cqltest.cli.app import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from readme_console import (
    README,
    REPO,
    Example,
    ReadmeFormatError,
    blocks,
    check,
    examples,
    line_matches,
    output_matches,
    parse,
)

FAST = examples(cassandra=False)


def test_readme_has_examples_of_every_kind() -> None:
    assert len(FAST) >= 8, "the README lost its console examples"
    assert examples(cassandra=True), "the README lost its `cqltest run` example"
    assert examples(cassandra=False, localkube=True), "the README lost its localkube example"


@pytest.mark.timeout(90)  # past check()'s own 60 s, so it can still stop the example's group
@pytest.mark.parametrize("example", FAST, ids=[f"line{e.line}" for e in FAST])
def test_readme_example(example: Example, tmp_path: Path) -> None:
    check(example, tmp_path / "home")


def test_fast_examples_never_provision() -> None:
    # `cqltest run` of a valid manifest starts Cassandra: that belongs in a `console cassandra`
    # block. Here it may only show bad input, which exits 2 before anything is provisioned.
    runs = [e for e in FAST if e.command.startswith("cqltest run ")]
    assert runs, "the README shows no `cqltest run` of an invalid manifest"
    assert all(e.exit_code == 2 for e in runs), [e.label for e in runs if e.exit_code != 2]
    starts = [e.label for e in FAST if re.search(r"cqltest cluster (up|start)\b", e.command)]
    assert not starts, f"fast examples must not start Cassandra: {starts}"
    # A localkube (and so anything kubectl could talk to) belongs in a `console localkube` block.
    kube = [e.label for e in FAST if re.search(r"cqltest localkube up\b|\bkubectl\b", e.command)]
    assert not kube, f"fast examples must not start or use a localkube: {kube}"


# --- the matcher: every convenience must still be able to fail ---------------------------------


def test_line_matching_is_literal_outside_placeholders() -> None:
    assert line_matches("OK: TestRun smoke (1 suite)", "OK: TestRun smoke (1 suite)")
    assert not line_matches("OK: TestRun smoke (1 suite)", "OK: TestRun smoke (2 suites)")
    assert not line_matches("OK: TestRun smoke", "OK: TestRun smoke (1 suite)")
    assert not line_matches("a.b", "axb"), "regex metacharacters are literal"
    assert line_matches("<testsuite name=", "<testsuite name="), "unknown <...> is literal"


def test_spaces_are_flexible_but_not_optional() -> None:
    assert line_matches("1  smoke  Passed", "   1   smoke     Passed   ")
    assert not line_matches("1  smoke  Passed", "1 smokePassed")
    assert not line_matches("smoke Passed", "smoke Failed")


@pytest.mark.parametrize(
    ("placeholder", "good", "bad"),
    [
        ("<n>", ["0", "42", "3.5"], ["", "x", "4 2"]),
        ("<duration>", ["12.3s", "1m2s", "2h", "1h30m5s", "15m"], ["12", "s", "1.5 s"]),
        ("<timestamp>", ["2026-11-23T11:27:14.796374Z", "2026-11-23T11:27:14+00:00"], ["today"]),
        ("<path>", ["/tmp/x/runs/smoke"], ["/tmp/a b", ""]),
        ("<any>", ["", "anything at all"], []),
    ],
)
def test_placeholders(placeholder: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert line_matches(f"[{placeholder}]", f"[{value}]"), value
    for value in bad:
        assert not line_matches(f"[{placeholder}]", f"[{value}]"), value


def test_ellipsis_matches_any_lines_but_order_and_ends_count() -> None:
    actual = "first\nsecond\nthird\nlast\n\n"
    assert output_matches(["first", "...", "last"], actual)
    assert output_matches(["first", "second", "...", "third", "last"], actual), "... can be empty"
    assert output_matches(["..."], actual)
    assert not output_matches(["first", "...", "third"], actual), "trailing lines must match"
    assert not output_matches(["...", "second", "first", "..."], actual), "order matters"
    assert not output_matches(["first", "second", "third"], actual + "extra\n")
    assert not output_matches([], "unexpected output\n")
    assert output_matches([], "")


def test_wrong_expected_output_fails_a_real_command(tmp_path: Path) -> None:
    right = Example("cqltest validate manifests/examples/smoke.yaml", ("OK: <any>",), 0, 1, False)
    check(right, tmp_path)
    wrong_text = Example(right.command, ("OK: TestRun other (1 suite)",), 0, 1, False)
    with pytest.raises(AssertionError, match="output differs"):
        check(wrong_text, tmp_path)
    wrong_exit = Example(right.command, right.expected, 2, 1, False)
    with pytest.raises(AssertionError, match="exit code 0, README says 2"):
        check(wrong_exit, tmp_path)


def test_parse_reads_commands_continuations_exit_codes_and_kinds() -> None:
    text = "\n".join(
        [
            "```console",
            "$ cqltest validate a.yaml \\",
            "    --flag  # exit 2",
            "line one",
            "...",
            "",
            "$ cat b",
            "```",
            "```yaml",
            "$ not a command: yaml blocks are not run",
            "```",
            "```console cassandra",
            "$ cqltest run x.yaml",
            "```",
            "```console localkube",
            "$ kubectl get pods",
            "```",
        ]
    )
    first, second, third, fourth = parse(text)
    assert first == Example("cqltest validate a.yaml --flag", ("line one", "..."), 2, 2, False)
    assert second == Example("cat b", (), 0, 7, False)
    assert third == Example("cqltest run x.yaml", (), 0, 13, True)
    assert fourth == Example("kubectl get pods", (), 0, 16, False, localkube=True)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("```console\n$ cqltset validate a.yaml\n```", "runs 'cqltset'"),
        ("```console\n$ cqltest plan a.yaml | rm -rf out\n```", "runs 'rm'"),
        ("```console\nOK\n```", "must start with a '\\$ ' command"),
        ("```console kube\n$ cqltest crd\n```", "unknown console block kind"),
        ("```console\n$ cqltest crd\n", "never closed"),
        ("```console\n$ cqltest validate 'a.yaml\n```", "cannot parse"),
        ("```console\n$ cat $(rm -rf out)\n```", "no command substitution"),
        ("```console\n$ cat `rm -rf out`\n```", "no command substitution"),
    ],
)
def test_bad_blocks_fail_instead_of_being_skipped(block: str, message: str) -> None:
    with pytest.raises(ReadmeFormatError, match=message):
        parse(block)


# --- plain ``` blocks: commands shown without output --------------------------------------------


def _plain_block_commands() -> list[str]:
    commands: list[str] = []
    for block in blocks(README.read_text(encoding="utf-8")):
        if block.info:
            continue
        for line in block.body:
            command = line.split("  #")[0].strip()
            if command:
                commands.append(command)
    return commands


def test_plain_blocks_use_real_make_targets_and_cqltest_commands() -> None:
    commands = _plain_block_commands()
    assert commands, "the README lost its quick start"
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.M))
    for command in commands:
        words = shlex.split(command)
        if words[0] == "make":
            assert set(words[1:]) <= targets, f"{command}: no such make target"
        elif words[0] == "cqltest":
            _parse_cli(words[1:])
        else:
            pytest.fail(f"README plain block runs {words[0]!r}: show only make or cqltest")


def _parse_cli(args: list[str]) -> None:
    """Parse ``cqltest ARGS`` down to the leaf command without running it."""
    command: click.Command = main
    name = "cqltest"
    while True:
        ctx = command.make_context(name, list(args), resilient_parsing=False)
        if not isinstance(command, click.Group):
            return
        with warnings.catch_warnings():  # protected_args is deprecated, but public, in click 8.2+
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*ctx.protected_args, *ctx.args]
        sub_name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None
        assert sub_name is not None
        command, name = sub, sub_name


@pytest.mark.parametrize(
    "args",
    [["frobnicate"], ["cluster", "up", "--nodes", "3"], ["run", "x.yaml", "--output", "xml"]],
)
def test_cli_parse_check_rejects_unknown_commands_and_flags(args: list[str]) -> None:
    with pytest.raises(click.UsageError):
        _parse_cli(args)
