"""The cluster's state file and the machine-wide claim on its loopback subnet.

``cqltest cluster up`` and ``cqltest cluster kill`` run in different processes, so everything
about a cluster (spec, node addresses and pids, generated credentials) lives in
``<root>/<name>/cluster.json``. Clusters under different roots (every pytest session uses a tmp
root) must still never share a subnet, so subnets are claimed in one per-user directory under
the system temp dir, with an exclusive-create file per subnet naming the owning cluster dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cqltest.errors import InputError
from cqltest.local.nodes import is_bindable, stat_fields
from cqltest.local.topology import (
    NATIVE_PORT,
    STORAGE_PORT,
    SUBNET_RANGE,
    ClusterSpec,
    DatacenterSpec,
    NodePlan,
    jmx_port,
    subnet_address,
)

STATE_FILE = "cluster.json"


def default_root() -> Path:
    home = os.environ.get("CQLTEST_HOME") or str(Path.home() / ".local" / "share" / "cqltest")
    return Path(home) / "clusters"


@dataclass
class NodeState:
    plan: NodePlan
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.plan), "pid": self.pid}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeState:
        data = dict(data)
        pid = data.pop("pid", None)
        data["token"] = int(data["token"])
        return cls(NodePlan(**data), pid)


@dataclass(frozen=True)
class Owner:
    """The process a throwaway cluster lives and dies with (pid and start time, since pids
    are reused). localkube also records its components' processes this way."""

    pid: int
    started: int

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), _start_time(os.getpid()) or 0)

    @classmethod
    def of(cls, pid: int) -> Owner | None:
        """The identity of running process ``pid``, or None if there is none."""
        started = _start_time(pid)
        return None if started is None else cls(pid, started)

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: clock ticks after boot at which the process started.

    None for a zombie: it has exited, only its exit status waits to be collected."""
    fields = stat_fields(Path(f"/proc/{pid}/stat"))
    return None if fields is None or fields[0] in ("Z", "X") else int(fields[19])


@dataclass
class ClusterState:
    spec: ClusterSpec
    version: str
    subnet: int
    nodes: list[NodeState]
    username: str | None = None
    password: str | None = None
    ca_path: str | None = None
    owner: Owner | None = None

    def to_dict(self) -> dict[str, Any]:
        spec = asdict(self.spec)
        return {
            "spec": spec,
            "version": self.version,
            "subnet": self.subnet,
            "nodes": [node.to_dict() for node in self.nodes],
            "username": self.username,
            "password": self.password,
            "ca_path": self.ca_path,
            "owner": None if self.owner is None else asdict(self.owner),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterState:
        spec = dict(data["spec"])
        spec["datacenters"] = [DatacenterSpec(**dc) for dc in spec["datacenters"]]
        return cls(
            spec=ClusterSpec(**spec),
            version=data["version"],
            subnet=int(data["subnet"]),
            nodes=[NodeState.from_dict(node) for node in data["nodes"]],
            username=data.get("username"),
            password=data.get("password"),
            ca_path=data.get("ca_path"),
            owner=Owner(**data["owner"]) if data.get("owner") else None,
        )


def save(directory: Path, state: ClusterState) -> None:
    """Write atomically and private (the file holds the superuser password)."""
    write_json(directory / STATE_FILE, state.to_dict())


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` atomically with ``data`` as JSON, readable by this user only."""
    # a temp name of its own: a run's provisioning thread and its main thread (or the CLI in
    # another process) may save at the same moment
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(directory: Path) -> ClusterState:
    path = directory / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"cluster {directory.name!r} does not exist under {directory.parent} "
            "(see 'cqltest cluster list')"
        ) from None
    return ClusterState.from_dict(data)


def _claims_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"cqltest-{os.getuid()}" / "subnets"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _claims_lock() -> Iterator[Path]:
    directory = _claims_dir()
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield directory
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _claim_is_live(claim: Path) -> bool:
    try:
        owner = Path(claim.read_text(encoding="utf-8").strip())
    except OSError:
        return False
    return (owner / STATE_FILE).exists() or (owner / ".creating").exists()


def claim_subnet(cluster_dir: Path, is_free: Callable[[int], bool]) -> int:
    """Claim the lowest subnet that no live cluster holds and whose ports ``is_free``.

    A claim whose owner directory is gone (a destroyed cluster, a deleted tmp root) is stale
    and reused.
    """
    with _claims_lock() as directory:
        for subnet in SUBNET_RANGE:
            claim = directory / str(subnet)
            if claim.exists():
                if _claim_is_live(claim):
                    continue
                claim.unlink(missing_ok=True)
            if not is_free(subnet):
                continue
            claim.write_text(str(cluster_dir.resolve()) + "\n", encoding="utf-8")
            return subnet
    raise InputError("no free loopback subnet 127.0.X.0/24 is left (1..254 are all in use)")


def claimed_subnets() -> set[int]:
    """The subnets live clusters hold claims on (their partition tables must stay)."""
    with _claims_lock() as directory:
        return {
            int(claim.name)
            for claim in directory.iterdir()
            if claim.name.isdigit() and _claim_is_live(claim)
        }


def claimed_cluster_dirs() -> list[Path]:
    """The directories of every cluster holding a subnet claim on this machine (any root)."""
    with _claims_lock() as directory:
        owners = []
        for claim in directory.iterdir():
            if claim.name.isdigit() and _claim_is_live(claim):
                owners.append(Path(claim.read_text(encoding="utf-8").strip()))
        return owners


def release_subnet(subnet: int, cluster_dir: Path) -> None:
    with _claims_lock() as directory:
        claim = directory / str(subnet)
        try:
            owner = claim.read_text(encoding="utf-8").strip()
        except OSError:
            return
        if owner == str(cluster_dir.resolve()):
            claim.unlink(missing_ok=True)


def subnet_free(subnet: int, node_count: int) -> bool:
    """A subnet is usable when none of its node addresses and JMX ports is taken."""
    for index in range(node_count):
        address = subnet_address(subnet, index)
        if not (
            is_bindable(address, NATIVE_PORT)
            and is_bindable(address, STORAGE_PORT)
            and is_bindable("127.0.0.1", jmx_port(subnet, index))
        ):
            return False
    return True
