"""Where the control-plane binaries are, and the one step that builds them.

localkube runs the real Kubernetes binaries, built from public Go modules by
``scripts/install-control-plane.sh`` into a cache keyed by version (``make control-plane`` and
``cqltest localkube install`` both run that script, so there is one install step). The script is
found relative to this package: cqltest is installed editable from its checkout (``make venv``),
and a copy of the script inside the package would drift from the one ``make`` runs. An install
without the checkout gets a SetupError saying where the script lives.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from cqltest.errors import SetupError

INSTALL_HINT = "run `cqltest localkube install` (or `make control-plane`)"
#: Everything the install step builds; a localkube needs all but helm.
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "helm",
)
SCRIPT = Path("scripts") / "install-control-plane.sh"


def bin_dir() -> Path:
    """Where the install script puts the binaries (``CQLTEST_KUBE_BIN`` overrides it)."""
    override = os.environ.get("CQLTEST_KUBE_BIN")
    if override:
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cqltest" / "bin"


def find_binaries(
    directory: Path | None = None, names: Iterable[str] = BINARIES
) -> dict[str, Path]:
    """Paths of the named binaries; raises SetupError naming every one that is missing."""
    directory = directory or bin_dir()
    found = {name: directory / name for name in names}
    missing = [name for name, path in found.items() if not os.access(path, os.X_OK)]
    if missing:
        raise SetupError(
            f"control-plane binaries missing from {directory}: {', '.join(missing)}; "
            f"{INSTALL_HINT} to build them from the Go module proxy"
        )
    return found


def install_script() -> Path:
    """The checkout's ``scripts/install-control-plane.sh`` (this file is
    ``operator/src/cqltest/localkube/binaries.py`` inside it)."""
    script = Path(__file__).resolve().parents[4] / SCRIPT
    if not script.is_file():
        raise SetupError(
            f"{SCRIPT} not found next to this cqltest installation ({script}); localkube's "
            "binaries are built from the cqltest source checkout: run `make control-plane` there"
        )
    return script


def install() -> Path:
    """Build (or check) every binary; idempotent, output streams to the terminal. Returns the
    directory holding them."""
    script = install_script()
    result = subprocess.run(["bash", str(script)], check=False)
    if result.returncode != 0:
        raise SetupError(
            f"{script.name} exited with code {result.returncode} (its output is above)"
        )
    return bin_dir()
