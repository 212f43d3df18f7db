"""README.md's ```console cassandra blocks, run for real: the `cqltest run` a reader copies first.

They provision a real local cluster, so they live here rather than with the fast README examples
(``tests/unit/test_readme.py``, which also tests the matcher). The examples run in README order
in one scratch ``CQLTEST_HOME``, because later commands read what earlier ones left (the kept
cluster, the JUnit/metrics/status files). Whatever happens, every cluster under that home is
destroyed at the end, and output files the README names are deleted first, so a file left by
an earlier run can never satisfy an example.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cqltest.local import LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from readme_console import REPO, check, examples

pytestmark = pytest.mark.cassandra

OUTPUT_OPTIONS = ("--junit", "--metrics", "--status-file")
RUN_TIMEOUT = 240.0


def _output_paths(command: str) -> list[Path]:
    words = shlex.split(command)
    return [REPO / words[i + 1] for i, word in enumerate(words[:-1]) if word in OUTPUT_OPTIONS]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    try:
        yield home
    finally:
        for cluster in LocalCluster.list(home / "clusters"):
            cluster.destroy()


@pytest.mark.timeout(420)
def test_readme_run_examples(home: Path) -> None:
    run_examples = examples(cassandra=True)
    assert any(e.command.startswith("cqltest run ") for e in run_examples)
    outputs = [path for e in run_examples for path in _output_paths(e.command)]
    for path in outputs:
        assert path.is_relative_to(REPO / "out"), f"{path}: README outputs go under out/"
        path.unlink(missing_ok=True)
    try:
        for example in run_examples:
            check(example, home, timeout=RUN_TIMEOUT)
    finally:
        for path in outputs:
            path.unlink(missing_ok=True)
        for directory in {path.parent for path in outputs}:
            # Remove the directories the run created, never one holding anything else.
            while directory != REPO and directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
                directory = directory.parent
