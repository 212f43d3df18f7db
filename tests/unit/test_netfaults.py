"""nftables partitions without Cassandra: real rules, real sockets, two stand-in node processes.

Each side is a small Python process (a node's stand-in); the rules must drop what one side
sends to the other's storage port and nothing else, go away on heal, and the reaper must remove
a table (and cgroups) whose cluster is gone while leaving a live cluster's alone.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from cqltest.local import netfaults, state

PORT = 17000
CONNECT = f"""
import socket, sys
for line in sys.stdin:
    try:
        s = socket.socket()
        s.settimeout(1.5)
        s.connect((line.strip(), {PORT}))
        print("open", flush=True)
    except OSError:
        print("cut", flush=True)
"""


@pytest.fixture
def subnet() -> Iterator[int]:
    """A subnet no cluster on this machine holds, cleaned up whatever the test did."""
    taken = state.claimed_subnets()
    free = next(n for n in range(250, 1, -1) if n not in taken)
    yield free
    netfaults.remove_cluster(free)


def _node() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CONNECT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _try(node: subprocess.Popen[str], address: str) -> str:
    assert node.stdin is not None
    assert node.stdout is not None
    node.stdin.write(address + "\n")
    node.stdin.flush()
    return node.stdout.readline().strip()


def test_a_partition_drops_one_sides_traffic_to_the_other_until_healed(subnet: int) -> None:
    netfaults.nft_binary()  # fails naming the package when nft is missing
    a, b = f"127.0.{subnet}.1", f"127.0.{subnet}.2"
    listeners = []
    for address in (a, b):
        listener = socket.socket()
        listener.bind((address, PORT))
        listener.listen()
        listeners.append(listener)
    one, two, outsider = _node(), _node(), _node()
    try:
        sides = [
            [netfaults.Member("node1", a, one.pid)],
            [netfaults.Member("node2", b, two.pid)],
        ]
        netfaults.partition(subnet, "cut-it", sides, PORT)
        netfaults.partition(subnet, "cut-it", sides, PORT)  # a repeat replaces, never doubles
        assert netfaults.table_name(subnet) in netfaults.tables()
        assert (_try(one, b), _try(two, a)) == ("cut", "cut")
        assert (_try(one, a), _try(outsider, b)) == ("open", "open")  # own side, and clients
        netfaults.heal(subnet, "cut-it")
        assert netfaults.table_name(subnet) not in netfaults.tables()
        assert (_try(one, b), _try(two, a)) == ("open", "open")
    finally:
        for process in (one, two, outsider):
            process.kill()
            process.wait()
        for listener in listeners:
            listener.close()


def test_the_reaper_removes_only_tables_whose_cluster_is_gone(subnet: int) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        member = netfaults.Member("node1", f"127.0.{subnet}.1", sleeper.pid)
        other = netfaults.Member("node2", f"127.0.{subnet}.2", sleeper.pid)
        netfaults.partition(subnet, "left-over", [[member], [other]], PORT)
        assert netfaults.reap([subnet]) == []
        assert netfaults.table_name(subnet) in netfaults.tables()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert netfaults.reap([]) == [netfaults.table_name(subnet)]
    assert netfaults.table_name(subnet) not in netfaults.tables()
    assert not (netfaults.cgroup2_root() / "cqltest" / netfaults.table_name(subnet)).exists()
