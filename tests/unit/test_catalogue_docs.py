"""testsuites/README.md's catalogue table names every suite `cqltest suites` lists."""

from __future__ import annotations

from pathlib import Path

from cqlsuites.catalogue import read_catalogue

README = Path(__file__).resolve().parents[2] / "testsuites" / "README.md"


def test_every_suite_has_a_row_in_the_catalogue_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## The built-in suite catalogue") :]
    missing = [name for name in read_catalogue() if f"| `{name}` |" not in table]
    assert not missing, f"testsuites/README.md's catalogue table lacks {missing}"
