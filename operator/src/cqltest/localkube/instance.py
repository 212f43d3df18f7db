"""Named localkubes: ``up``, ``down``, ``status`` and ``list``, across CLI invocations.

``cqltest localkube up`` starts the components (the control plane, then what
:mod:`cqltest.localkube.starting` adds) and exits, so everything about a localkube
lives in its directory, ``$CQLTEST_HOME/localkube/<name>``: certificates, the admin kubeconfig,
each component's log, and ``localkube.json`` (ports, server, node, and every component's pid and
start time). Components run in sessions of their own and outlive the CLI; ``down`` finds them
again by identity, stops them in order (the node agent and the K8ssandra stand-in first, while
the apiserver still answers, so they can clean up their pods and clusters), then sweeps what a
killed agent or stand-in may have left (pod process groups recorded in
``<dir>/pods/*/*.pgid``, local Cassandra clusters under ``<dir>/cassandra``) and removes the
directory.

A localkube made with ``owned=True`` (the test fixture) lives and dies with its owner process,
as owned local clusters do: a later ``up`` or ``list`` reaps it once the owner is gone. The
process running ``up`` owns every localkube while it starts, so one killed mid-start is reaped
too. Owned localkubes are also registered in a per-user directory under the system temp dir,
so those made under another root (a pytest tmp dir) are found.

``up`` runs as root or as a normal user; for the latter it first checks that the kernel lets
the node agent isolate pods (:mod:`cqltest.localkube.isolation`) and starts nothing otherwise.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cqltest.errors import InputError, SetupError
from cqltest.local import LocalCluster
from cqltest.local.backend import cqltest_home
from cqltest.local.state import Owner, write_json
from cqltest.localkube import isolation, processes
from cqltest.localkube.binaries import find_binaries
from cqltest.localkube.controlplane import CONTROLLERS, CORE, START_TIMEOUT, ControlPlane
from cqltest.localkube.pki import Pki
from cqltest.localkube.processes import Process
from cqltest.localkube.starting import (
    AGENT,
    K8SSANDRA,
    OPERATOR,
    STAND_INS,
    node_schedulable,
    start_components,
)

# The component names and the Node check are part of this module's API, as they always were.
__all__ = [
    "AGENT", "DEFAULT_NAME", "K8SSANDRA", "OPERATOR", "READY_TIMEOUT", "STAND_INS", "Localkube",
    "default_root", "down", "list_instances", "load", "node_schedulable", "reap_orphans",
    "status", "up", "validate_name",
]  # fmt: skip

DEFAULT_NAME = "localkube"
STATE_FILE = "localkube.json"
READY_TIMEOUT = 60.0
NAME_RULE = (
    "a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a "
    "letter or digit"
)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def default_root() -> Path:
    return cqltest_home() / "localkube"


def validate_name(name: str) -> None:
    """The name is the directory and the Node's name, so it must be a DNS label."""
    if not _DNS_LABEL.fullmatch(name):
        raise InputError(f"--name {name!r} is not valid: it must be {NAME_RULE}")


@dataclass
class Localkube(ControlPlane):
    """A running (or recorded) localkube: the control plane plus the node agent and the
    K8ssandra stand-in, all in ``processes`` in start order."""

    name: str = DEFAULT_NAME
    node: str = DEFAULT_NAME
    owner: Owner | None = None
    created: str = ""

    # ------------------------------------------------------------------ state file

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "directory": str(self.root),
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "node": self.node,
            "created": self.created,
            "ports": self.ports,
            "binaries": {name: str(path) for name, path in self.binaries.items()},
            "components": [process.to_dict() for process in self.processes],
            "owner": None if self.owner is None else {"pid": self.owner.pid,
                                                      "started": self.owner.started},
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Localkube:
        root = Path(data["directory"])
        owner = data.get("owner")
        return cls(
            root=root,
            binaries={name: Path(path) for name, path in data["binaries"].items()},
            pki=Pki.at(root / "pki"),
            server=data["server"],
            kubeconfig=Path(data["kubeconfig"]),
            ports={name: int(port) for name, port in data["ports"].items()},
            processes=[Process.from_dict(item) for item in data["components"]],
            name=data["name"],
            node=data["node"],
            owner=None if owner is None else Owner(int(owner["pid"]), int(owner["started"])),
            created=data.get("created", ""),
        )

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.root / STATE_FILE, self.to_dict())

    # ------------------------------------------------------------------ views

    def info(self) -> dict[str, Any]:
        """What ``up --output json`` and ``status`` print."""
        components = [
            {"name": p.name, "pid": p.pid, "alive": p.alive(), "log": str(p.log)}
            for p in self.processes
        ]
        alive = sum(1 for c in components if c["alive"])
        state = "running" if alive == len(components) else "stopped" if not alive else "degraded"
        return {
            "name": self.name,
            "state": state,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig.resolve()),
            "node": self.node,
            "directory": str(self.root.resolve()),
            "owner": None if self.owner is None else self.owner.pid,
            "created": self.created,
            "components": components,
        }

    # ------------------------------------------------------------------ lifecycle

    def down(self) -> None:
        """Stop every process this localkube started and remove its directory."""
        # The operator first, so it does not react to the runs' children disappearing.
        processes.stop_all([p for p in self.processes if p.name == OPERATOR])
        stand_ins = [p for p in self.processes if p.name in STAND_INS]
        processes.stop_all(stand_ins)
        for process in reversed(self.processes):
            if process.name not in STAND_INS:
                process.stop()
        processes.kill_groups(sorted(self.root.glob("pods/*/*.pgid")))
        for cluster in LocalCluster.list(self.root / "cassandra"):
            cluster.destroy()
        _unregister(self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    stop = down


# ---------------------------------------------------------------------------- module API


def up(
    name: str = DEFAULT_NAME,
    *,
    owned: bool = False,
    root: Path | None = None,
    timeout: float = READY_TIMEOUT,
    operator: bool = False,
) -> Localkube:
    """Start localkube ``name`` and wait until a Pod could be scheduled on its node.

    ``operator``: also serve TestRuns (the CRD and a ``cqltest operator`` component), so
    ``kubectl apply -f manifests/examples/smoke.yaml`` runs the smoke suite.

    Raises InputError for a bad name or one already running, SetupError for missing binaries
    or a kernel that lets a normal user isolate no pod (checked before anything starts), and
    ComponentError (naming the component, with its log tail) or NotReadyError when it does
    not come up; nothing is left running then.
    """
    validate_name(name)
    isolation.namespace_command()  # SetupError before anything starts if pods cannot be isolated
    reap_orphans(root)
    base = root or default_root()
    directory = base / name
    with _name_lock(base, name):
        if (directory / STATE_FILE).exists():
            existing = load(name, root)
            if any(p.alive() for p in existing.processes):
                raise InputError(
                    f"localkube {name!r} is already running ({existing.server}); stop it with "
                    f"'cqltest localkube down --name {name}' or choose another --name"
                )
            existing.down()  # recorded, nothing alive (a reboot): start afresh
        binaries = find_binaries(names=CORE + CONTROLLERS)
        instance = Localkube(
            directory, binaries, Pki.at(directory / "pki"), "", directory / "admin.kubeconfig",
            name=name, node=name, owner=Owner.current(),
            created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )  # fmt: skip
        _register(directory)

        def record(process: Process) -> None:
            # A process killed mid-start leaves a state file its reaper can act on.
            instance.processes.append(process)
            instance.save()

        try:
            plane = ControlPlane.start(
                directory, controllers=True, die_with_parent=False, on_spawn=record,
                binaries=binaries, timeout=START_TIMEOUT,
            )  # fmt: skip
            for attribute in fields(ControlPlane):
                setattr(instance, attribute.name, getattr(plane, attribute.name))
            instance.save()
            start_components(instance, timeout=timeout, operator=operator)
        except BaseException:
            instance.down()
            raise
        instance.owner = instance.owner if owned else None
        instance.save()
        if not owned:
            _unregister(directory)
        return instance


def load(name: str, root: Path | None = None) -> Localkube:
    path = (root or default_root()) / name / STATE_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        raise InputError(
            f"localkube {name!r} does not exist under {path.parent.parent} "
            "(see 'cqltest localkube list')"
        ) from None


def down(name: str = DEFAULT_NAME, root: Path | None = None) -> None:
    with _name_lock(root or default_root(), name):
        load(name, root).down()


def status(name: str = DEFAULT_NAME, root: Path | None = None) -> dict[str, Any]:
    return load(name, root).info()


def list_instances(root: Path | None = None) -> list[Localkube]:
    """Every localkube recorded under ``root`` (after reaping those whose owner died)."""
    reap_orphans(root)
    base = root or default_root()
    found = []
    for path in sorted(base.glob(f"*/{STATE_FILE}")):
        with contextlib.suppress(ValueError, KeyError, TypeError, OSError):
            found.append(_read(path))
    return found


def reap_orphans(root: Path | None = None) -> list[str]:
    """Take down every owned localkube whose owner process is gone; their directories."""
    candidates = set(_registered())
    base = root or default_root()
    candidates.update(path.parent for path in base.glob(f"*/{STATE_FILE}"))
    reaped = []
    for directory in sorted(candidates):
        try:
            instance = _read(directory / STATE_FILE)
        except FileNotFoundError:
            _unregister(directory)
            continue
        except (ValueError, KeyError, TypeError, OSError):
            continue  # being written, or by another version: not ours to judge
        if instance.owner is None or instance.owner.alive():
            continue
        try:
            instance.down()
        except OSError:
            continue  # another process reaping it at the same time; never fail an `up`
        reaped.append(str(directory))
    return reaped


def _read(path: Path) -> Localkube:
    return Localkube.from_dict(json.loads(path.read_text(encoding="utf-8")))


@contextlib.contextmanager
def _name_lock(base: Path, name: str) -> Iterator[None]:
    """Two ``up`` of one name at once: the second waits, then finds the first running."""
    base.mkdir(parents=True, exist_ok=True)
    with (base / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _registry() -> Path:
    """``/tmp/cqltest-<uid>/localkubes``, refused unless this user's alone.

    Its name is predictable in a directory everyone writes to, and a reaper takes down (and
    deletes) the directory every entry names: one planted by another user must not be
    followed."""
    base = Path(tempfile.gettempdir()) / f"cqltest-{os.getuid()}"
    path = base / "localkubes"
    for directory in (base, path):
        directory.mkdir(exist_ok=True, mode=0o700)
        found = directory.lstat()
        # Group-writable is fine for the user's own group (a umask of 002).
        others = found.st_mode & 0o002 or (found.st_mode & 0o020 and found.st_gid != os.getgid())
        if found.st_uid != os.getuid() or others or not stat.S_ISDIR(found.st_mode):
            raise SetupError(
                f"{directory} must be a directory of uid {os.getuid()} that only it can write "
                f"(it is uid {found.st_uid}'s, mode {stat.filemode(found.st_mode)}): localkube "
                "lists its running localkubes there; remove it and run the command again"
            )
    return path


def _entry(directory: Path) -> Path:
    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return _registry() / key


def _register(directory: Path) -> None:
    _entry(directory).write_text(str(directory.resolve()) + "\n", encoding="utf-8")


def _unregister(directory: Path) -> None:
    _entry(directory).unlink(missing_ok=True)


def _registered() -> list[Path]:
    entries = []
    for entry in _registry().iterdir():
        with contextlib.suppress(OSError):
            entries.append(Path(entry.read_text(encoding="utf-8").strip()))
    return entries
