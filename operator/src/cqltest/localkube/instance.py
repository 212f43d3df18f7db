"""Named localkubes: ``up``, ``down``, ``status`` and ``list``, across CLI invocations.

``cqltest localkube up`` starts the components and exits, so everything about a localkube
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
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cqltest.errors import InputError
from cqltest.local import LocalCluster
from cqltest.local.backend import cqltest_home
from cqltest.local.state import Owner, write_json
from cqltest.localkube import processes
from cqltest.localkube.binaries import find_binaries
from cqltest.localkube.controlplane import CONTROLLERS, CORE, START_TIMEOUT, ControlPlane
from cqltest.localkube.errors import NotReadyError
from cqltest.localkube.pki import Pki
from cqltest.localkube.processes import Process, free_port

DEFAULT_NAME = "localkube"
STATE_FILE = "localkube.json"
READY_TIMEOUT = 60.0
AGENT = "node-agent"
K8SSANDRA = "k8ssandra-stand-in"
#: Processes that clean up after themselves on SIGTERM and need the apiserver to do it.
STAND_INS = (AGENT, K8SSANDRA)
OPERATOR = "cqltest-operator"
"""The TestRun operator, when ``up(operator=True)`` runs it as one more component."""
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

    def _start_stand_ins(self) -> None:
        self.ports["kubelet"] = free_port()
        common = ["--kubeconfig", str(self.kubeconfig), "--node", self.node,
                  "--state-dir", str(self.root)]  # fmt: skip
        commands = {
            AGENT: ["cqltest.localkube.agent", *common, "--kubelet-port",
                    str(self.ports["kubelet"])],
            K8SSANDRA: ["cqltest.localkube.k8ssandra", *common],
        }  # fmt: skip
        for name, args in commands.items():
            argv = [sys.executable, "-m", *args]
            self.processes.append(processes.spawn(name, argv, self.root / f"{name}.log"))
            self.save()

    def _start_operator(self, timeout: float) -> None:
        """Serve TestRuns: apply their CRD and run ``cqltest operator`` against this localkube."""
        from cqltest.render.crd import render_crd

        collection = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        status, answer = self.request("POST", collection, render_crd())
        if status not in (201, 409):
            raise NotReadyError(f"creating the TestRun CRD answered {status}: {answer}")
        self.ports["operator-liveness"] = free_port()
        self.ports["operator-metrics"] = free_port()
        argv = [
            sys.executable, "-m", "cqltest", "operator", "--kubeconfig", str(self.kubeconfig),
            "--liveness-port", str(self.ports["operator-liveness"]),
            "--metrics-port", str(self.ports["operator-metrics"]),
        ]  # fmt: skip
        self.processes.append(processes.spawn(OPERATOR, argv, self.root / f"{OPERATOR}.log"))
        self.save()
        port = self.ports["operator-liveness"]
        self._wait("the TestRun operator's /healthz", lambda: _healthy(port), timeout)

    def _check_alive(self) -> None:
        for process in self.processes:
            if not process.alive():
                raise process.exited()

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll ``ready()`` until true, failing fast (with its log) if a component exits."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            if ready():
                return
            if time.monotonic() > deadline:
                agent = [p for p in self.processes if p.name == AGENT]
                hint = f"; node agent log:\n{agent[0].tail()}" if agent else ""
                raise NotReadyError(f"localkube {self.name!r}: still waiting for {what} after "
                                    f"{timeout:.0f}s{hint}")  # fmt: skip
            time.sleep(processes.POLL)

    def _apply_crds(self, timeout: float) -> None:
        """Create every CRD localkube serves and wait until the apiserver serves it."""
        collection = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for manifest in served_crds():
            crd_name = manifest["metadata"]["name"]
            status, answer = self.request("POST", collection, manifest)
            if status != 201:
                raise NotReadyError(f"creating CRD {crd_name} answered {status}: {answer}")

            def established(path: str = f"{collection}/{crd_name}") -> bool:
                _, crd = self.request("GET", path)
                conditions = (crd or {}).get("status", {}).get("conditions") or []
                return any(
                    c.get("type") == "Established" and c.get("status") == "True" for c in conditions
                )

            self._wait(f"CRD {crd_name} Established", established, timeout)

    def _service_account_ready(self) -> bool:
        status, _ = self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")
        return status == 200

    def _node_schedulable(self) -> bool:
        status, node = self.request("GET", f"/api/v1/nodes/{self.node}")
        return status == 200 and node_schedulable(node)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def node_schedulable(node: dict[str, Any]) -> bool:
    """What the scheduler needs of the only Node: no taints, not cordoned, room for pods."""
    spec = node.get("spec") or {}
    pods = (node.get("status") or {}).get("allocatable", {}).get("pods", "0")
    return not spec.get("taints") and not spec.get("unschedulable") and int(pods) > 0


def served_crds() -> list[dict[str, Any]]:
    """Every CRD localkube serves: the K8ssandra stand-in's K8ssandraCluster."""
    # Imported here: the stand-in's package is only needed when a localkube starts.
    from cqltest.localkube.k8ssandra import crd

    return [crd.manifest()]


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

    Raises InputError for a bad name or one already running, SetupError for missing binaries,
    and ComponentError (naming the component, with its log tail) or NotReadyError when it does
    not come up; nothing is left running then.
    """
    validate_name(name)
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
            instance._apply_crds(timeout)
            instance._start_stand_ins()
            instance._wait("the default ServiceAccount", instance._service_account_ready,
                           timeout)  # fmt: skip
            instance._wait(f"a schedulable Node {name!r}", instance._node_schedulable, timeout)
            if operator:
                instance._start_operator(timeout)
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
    path = Path(tempfile.gettempdir()) / f"cqltest-{os.getuid()}" / "localkubes"
    path.mkdir(parents=True, exist_ok=True)
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
