"""Network partitions between local nodes: real nftables rules, one table per cluster.

Every node of a local cluster listens on its own loopback address, but Cassandra does not bind
its outgoing internode connections, so they all leave from 127.0.0.1 and a rule on source
addresses would match nothing. What does tell the sender apart is the socket's cgroup: each
partitioned node is moved into its own cgroup v2 (``<cgroup2>/cqltest/<table>/<node>``) and the
rules drop what a node of one side sends to an address of the other (:func:`partition`; a
:func:`cut` is one direction of it, as NetworkPolicy ingress rules need). Sockets keep the cgroup
they were created in, so the internode connections that already exist are destroyed
(``ss -K``) and Cassandra reconnects from the new cgroup, into the rules.

The table ``cqltest_s<subnet>`` holds one chain per partition fault; a heal deletes that chain,
and teardown or the orphan reaper deletes the whole table (and the cluster's cgroups), so no
rule outlives its cluster. Every subprocess here is ``nft`` or ``ss``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cqltest.errors import ClusterError, SetupError

FAMILY = "inet"
PREFIX = "cqltest_s"
NFT_HINT = "install the Debian package nftables (make nftables, or apt-get install nftables)"
_NFT_TIMEOUT = 20.0
_SYSFS_CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Member:
    """One node of a partition side: its name, loopback address and JVM process id."""

    name: str
    address: str
    pid: int


def table_name(subnet: int) -> str:
    """The one nftables table of the cluster on 127.0.``subnet``.0/24."""
    return f"{PREFIX}{subnet}"


def chain_name(fault: str) -> str:
    """A fault's chain in its cluster's table (nft identifiers take no '-')."""
    return "cut_" + re.sub(r"[^A-Za-z0-9_]", "_", fault)


def nft_binary() -> str:
    """The ``nft`` executable; SetupError saying how to install it when it is missing."""
    found = shutil.which("nft")
    if found is None:
        raise SetupError(f"partition faults need the nft command: {NFT_HINT}")
    return found


def _nft(*args: str, script: str | None = None, check: bool = True) -> str:
    command = [nft_binary(), *args] if script is None else [nft_binary(), "-f", "-"]
    done = subprocess.run(
        command, input=script, capture_output=True, text=True, timeout=_NFT_TIMEOUT, check=False
    )
    if check and done.returncode != 0:
        what = " ".join(args) if script is None else "-f - (a partition's rules)"
        raise ClusterError(f"nft {what} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def cgroup2_root() -> Path:
    """Where the cgroup v2 hierarchy is mounted (nft names cgroups under /sys/fs/cgroup)."""
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2":
            root = Path(fields[1])
            if root == _SYSFS_CGROUP or _SYSFS_CGROUP in root.parents:
                return root
    raise SetupError(
        "partition faults need a cgroup v2 hierarchy under /sys/fs/cgroup (to tell the local "
        "nodes' sockets apart); none is mounted"
    )


def _cluster_cgroup(subnet: int) -> Path:
    return cgroup2_root() / "cqltest" / table_name(subnet)


def _place(subnet: int, member: Member) -> tuple[str, int]:
    """Move a node into its own cgroup; return the cgroup as nft names it, and its level."""
    group = _cluster_cgroup(subnet) / member.name
    try:  # as a normal user the mkdir fails already
        group.mkdir(parents=True, exist_ok=True)
        (group / "cgroup.procs").write_text(str(member.pid))
    except OSError as exc:
        raise ClusterError(
            f"cannot move {member.name} (pid {member.pid}) into {group}: {exc}"
        ) from exc
    root = cgroup2_root()
    return str(group.relative_to(_SYSFS_CGROUP)), len(group.relative_to(root).parts)


def partition(
    subnet: int, fault: str, sides: Sequence[Sequence[Member]], storage_port: int
) -> None:
    """Cut every internode message between the two sides (clients still reach every node)."""
    if len(sides) != 2 or not sides[0] or not sides[1]:
        raise ClusterError("a partition needs two non-empty sides")
    cuts = [
        Cut(member, tuple(m.address for m in other))
        for own, other in ((sides[0], sides[1]), (sides[1], sides[0]))
        for member in own
    ]
    cut(subnet, fault, cuts, storage_port)


@dataclass(frozen=True)
class Cut:
    """A directed cut: what ``source`` sends to the storage port of ``destinations`` is dropped
    (what they send to it is not: a partition is a cut each way)."""

    source: Member
    destinations: tuple[str, ...]


def cut(subnet: int, fault: str, cuts: Sequence[Cut], storage_port: int) -> None:
    """Put exactly ``cuts`` in the fault's chain (replacing what it held): each source's
    internode packets to its destinations are dropped."""
    rules = []
    for each in cuts:
        if not each.destinations:
            continue
        path, level = _place(subnet, each.source)
        targets = ", ".join(each.destinations)
        rules.append(
            f'socket cgroupv2 level {level} "{path}" ip daddr {{ {targets} }} '
            f"tcp dport {storage_port} drop"
        )
    if not rules:
        raise ClusterError(f"cut {fault!r}: no source has a destination to cut")
    table, chain = table_name(subnet), chain_name(fault)
    hook = "{ type filter hook output priority 0; policy accept; }"
    # add + flush makes a repeated inject replace the chain's rules instead of doubling them
    lines = [
        f"add table {FAMILY} {table}",
        f"add chain {FAMILY} {table} {chain} {hook}",
        f"flush chain {FAMILY} {table} {chain}",
        *(f"add rule {FAMILY} {table} {chain} {rule}" for rule in rules),
    ]
    _nft(script="\n".join(lines) + "\n")
    addresses = {c.source.address for c in cuts} | {a for c in cuts for a in c.destinations}
    _drop_connections(sorted(addresses), storage_port)


def _drop_connections(addresses: Iterable[str], storage_port: int) -> None:
    """Destroy the internode connections to ``addresses``: the nodes reconnect, from their
    cgroups now, so the rules see them (a socket keeps the cgroup it was created in)."""
    ss = shutil.which("ss")
    if ss is None:
        raise SetupError("partition faults need the ss command: install the iproute2 package")
    for address in addresses:
        subprocess.run(
            [ss, "-K", "-t", "dst", address, "dport", "=", str(storage_port)],
            capture_output=True,
            timeout=_NFT_TIMEOUT,
            check=False,  # sockets already gone between listing and destroying are fine
        )


def heal(subnet: int, fault: str) -> None:
    """Remove one partition's rules; the table goes too once no partition is left in it."""
    table = table_name(subnet)
    if table not in tables():
        return
    _nft("delete", "chain", FAMILY, table, chain_name(fault), check=False)
    listed = json.loads(_nft("-j", "list", "table", FAMILY, table) or "{}")
    chains = [e for e in listed.get("nftables", []) if "chain" in e]
    if not chains:
        _nft("delete", "table", FAMILY, table, check=False)


def tables() -> list[str]:
    """The cqltest partition tables that exist now (empty when nft is not installed)."""
    if shutil.which("nft") is None:
        return []
    listed = json.loads(_nft("-j", "list", "tables", FAMILY) or "{}")
    names = [e["table"]["name"] for e in listed.get("nftables", []) if "table" in e]
    return sorted(n for n in names if n.startswith(PREFIX))


def remove_cluster(subnet: int) -> None:
    """Delete the cluster's table and its (emptied) cgroups: its teardown, or the reaper's."""
    if table_name(subnet) in tables():
        _nft("delete", "table", FAMILY, table_name(subnet), check=False)
    _remove_cgroups(subnet)


def _remove_cgroups(subnet: int, wait: float = 3.0) -> None:
    try:
        base = _cluster_cgroup(subnet)
    except SetupError:
        return
    deadline = time.monotonic() + wait
    while base.is_dir():
        for group in [p for p in base.iterdir() if p.is_dir()] + [base]:
            with contextlib.suppress(OSError):  # a process still exiting keeps its cgroup busy
                os.rmdir(group)  # cgroups are removed with rmdir, never rmtree
        if not base.is_dir() or time.monotonic() >= deadline:
            return
        time.sleep(0.1)


def reap(live_subnets: Iterable[int]) -> list[str]:
    """Delete every partition table and cgroup whose cluster is gone; the tables are returned."""
    live = set(live_subnets)
    reaped = []
    for table in tables():
        subnet = int(table[len(PREFIX) :])
        if subnet not in live:
            _nft("delete", "table", FAMILY, table, check=False)
            reaped.append(table)
    try:
        groups = cgroup2_root() / "cqltest"
    except SetupError:
        return reaped
    if groups.is_dir():
        for group in groups.iterdir():
            number = group.name[len(PREFIX) :]
            if group.name.startswith(PREFIX) and number.isdigit() and int(number) not in live:
                _remove_cgroups(int(number), wait=0)
    return reaped
