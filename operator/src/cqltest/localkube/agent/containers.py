"""Starting and stopping one container: a process group in its own mount namespace.

A container is ``unshare --mount --propagation private`` running ``sandbox.py`` (which binds the
pod's volumes, ``/etc/hosts`` and termination-message file, then ``exec``s the command), so
one pid is the container from start to exit. It starts a new session (its own process group,
pgid = pid, recorded in ``<container>.pgid`` so ``localkube down`` can SIGKILL leftovers) with
stdout and stderr appended to ``<container>.log``; a restart first moves that log to
``<container>.previous.log`` (``kubectl logs --previous``). When the main process exits, the
rest of its group is killed, as the runtime kills a container's cgroup.

Not root: the sandbox enters a user namespace mapping the user to itself, where the kernel
allows it, and makes the mount namespace there, so the command runs as the user;
:func:`cqltest.localkube.isolation.namespace_command` checks once and says what is needed
otherwise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cqltest.localkube.agent.volumes import Mount
from cqltest.localkube.isolation import SANDBOX, namespace_command


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one container of a pod."""

    pod_dir: Path
    name: str
    argv: Sequence[str]
    env: dict[str, str]
    cwd: str
    mounts: Sequence[Mount]

    @property
    def log(self) -> Path:
        return self.pod_dir / f"{self.name}.log"

    @property
    def previous_log(self) -> Path:
        return self.pod_dir / f"{self.name}.previous.log"

    @property
    def termination_file(self) -> Path:
        return self.pod_dir / f"{self.name}.termination-log"

    @property
    def start_error_file(self) -> Path:
        return self.pod_dir / f"{self.name}.start-error"

    @property
    def pgid_file(self) -> Path:
        return self.pod_dir / f"{self.name}.pgid"


def _runtime_paths() -> list[str]:
    """What a container needs of this machine to run ``python``: the interpreter's prefixes,
    every directory on the agent's own import path (the venv), and the source trees of the
    project's packages (an editable install finds them through an import hook, not a path)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
    for package in ("cqltest", "cqlsuites", "aiocql"):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            paths.add(os.path.dirname(location))
    return sorted(p for p in paths if p and os.path.isdir(p))


RUNTIME_PATHS = _runtime_paths()


def start(launch: Launch, termination_path: str, restart: bool) -> subprocess.Popen[bytes]:
    """Start the container; returns its process (pid = pgid)."""
    if restart and launch.log.exists():
        launch.log.replace(launch.previous_log)
    launch.termination_file.write_bytes(b"")
    launch.start_error_file.unlink(missing_ok=True)
    mounts = [*launch.mounts, Mount(str(launch.termination_file), termination_path, False)]
    plan = {
        "mounts": [asdict(mount) for mount in mounts],
        "mirror_dir": str(launch.pod_dir / "mirrors" / launch.name),
        "cwd": launch.cwd,
        "keep": RUNTIME_PATHS,
        "argv": list(launch.argv),
        "env": launch.env,
        "start_error": str(launch.start_error_file),
        "user_namespace": os.geteuid() != 0,
    }
    plan_file = launch.pod_dir / f"{launch.name}.plan.json"
    plan_file.write_text(json.dumps(plan))
    with launch.log.open("ab") as out:
        process = subprocess.Popen(
            [*namespace_command(), sys.executable, "-I", "-S", str(SANDBOX), str(plan_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=launch.pod_dir,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True,
        )
    launch.pgid_file.write_text(str(process.pid))
    return process


def signal_group(pgid: int, signum: int) -> None:
    """Signal every process of the container; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def kill_recorded(pod_dir: Path) -> None:
    """SIGKILL every process group recorded under a pod directory (a previous agent's)."""
    for pgid_file in pod_dir.glob("*.pgid"):
        with contextlib.suppress(ValueError, OSError):
            signal_group(int(pgid_file.read_text().strip()), signal.SIGKILL)
