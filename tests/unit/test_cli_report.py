"""The final report of ``cqltest run``: one table line per suite, reasons whole under the table."""

from __future__ import annotations

import io

from cqltest.cli.run import report
from cqltest.engine import aggregate_status
from engine_sim import T0, done, make_spec, observed
from rich.console import Console

LONG = "cluster could not start: node1 died while starting\n" + "\n".join(
    f"  log line {i}: " + "x" * 70 for i in range(3)
)


def render(width: int, attempts: dict[str, list[object]]) -> str:
    spec = make_spec([{"name": name} for name in attempts])
    status = aggregate_status(spec, observed(attempts=attempts), T0)  # type: ignore[arg-type]
    out = io.StringIO()
    Console(file=out, width=width, no_color=True).print(report("nightly", status))
    return out.getvalue()


def test_a_long_reason_does_not_wrap_the_table_and_is_printed_whole() -> None:
    for width in (80, 100, 160):
        text = render(width, {"broken": [done("Error", reason=LONG)], "fine": [done()]})
        table, below = text.split("Reasons:")
        lines = table.splitlines()
        at = next(i for i, line in enumerate(lines) if "WAVE" in line)
        header = lines[at]
        assert header.split() == ["WAVE", "SUITE", "PHASE", "TRY", "TESTS", "FAILED", "OPS",
                                  "P99", "MS", "TIME"]  # fmt: skip
        rows = [line.split() for line in lines[at + 1 :] if line.lstrip().startswith("1 ")]
        assert [row[1:3] for row in rows] == [["broken", "Error"], ["fine", "Passed"]]
        assert "log line" not in table
        assert all(len(line) <= width for line in text.splitlines())
        assert below.lstrip().startswith("broken: cluster could not start")
        assert " ".join(LONG.split()) in " ".join(below.split())


def test_no_reasons_section_when_every_suite_passed_without_one() -> None:
    assert "Reasons:" not in render(100, {"fine": [done()]})
