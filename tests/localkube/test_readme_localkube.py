"""README.md's ```console localkube block, run for real: up, a Job through kubectl, status, down.

It starts its own localkube with ``cqltest localkube up`` (not the session's: the README shows
the default name and its default kubeconfig path), so it lives here with the localkube tests
rather than with the fast README examples (``tests/unit/test_readme.py``). The examples run in
README order in one scratch home, because later commands use what earlier ones started. The
environment is the harness's (``tests/readme_console.py``) plus what a reader following the
README has: ``HOME`` a scratch directory whose ``~/.local/share/cqltest`` is the examples'
``CQLTEST_HOME`` (so the README's ``~/.local/share/cqltest/localkube/localkube/admin.kubeconfig``
is this localkube's kubeconfig), the real binary and jar cache, and the control-plane binaries
(``kubectl``) on ``PATH``. Whatever happens, every localkube under that home is taken down.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cqltest.localkube import binaries, instance

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from readme_console import check, examples

pytestmark = pytest.mark.kube

EXAMPLE_TIMEOUT = 180.0


@pytest.fixture
def readme_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The examples' CQLTEST_HOME, at its default place under a scratch HOME.

    The scratch HOME is short (``/tmp/lkXXXXXXXX/h``, not pytest's tmp_path), because ``status``
    prints ``export KUBECONFIG=<path>`` through rich at the harness's 100 columns, which folds a
    longer line where a reader's ``~/.local/share/...`` path would not be folded."""
    bin_dir = binaries.bin_dir()
    binaries.find_binaries(bin_dir)  # missing binaries fail here, naming them: never a skip
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    scratch = Path(tempfile.mkdtemp(prefix="lk", dir="/tmp"))
    home = scratch / "h"
    cqltest_home = home / ".local" / "share" / "cqltest"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", cache)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert binaries.bin_dir() == bin_dir, "CQLTEST_KUBE_BIN is not passed to README examples"
    try:
        yield cqltest_home
    finally:
        try:
            for local in instance.list_instances(cqltest_home / "localkube"):
                local.down()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.timeout(900)
def test_readme_localkube_examples(readme_home: Path) -> None:
    localkube_examples = examples(cassandra=False, localkube=True)
    commands = [e.command for e in localkube_examples]
    assert commands[0].startswith("cqltest localkube up"), commands
    assert commands[-1].startswith("cqltest localkube down"), commands
    assert any(c.startswith("kubectl ") and " apply " in c for c in commands), commands
    for example in localkube_examples:
        check(example, readme_home, timeout=EXAMPLE_TIMEOUT)
    assert not instance.list_instances(readme_home / "localkube"), "down left a localkube"
