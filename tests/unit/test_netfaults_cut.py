"""Directed cuts (what NetworkPolicy ingress needs): real rules, one direction only.

The same stand-in node processes as ``test_netfaults``: a cut from one node to another drops
what the first sends to the second's storage port, and nothing the second sends back.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest
from cqltest.errors import ClusterError
from cqltest.local import netfaults
from test_netfaults import PORT, _node, _try, subnet

__all__ = ["subnet"]  # the fixture, used by name


def test_a_cut_drops_one_direction_only_and_a_heal_removes_it(subnet: int) -> None:
    a, b, c = (f"127.0.{subnet}.{n}" for n in (1, 2, 3))
    listeners = []
    for address in (a, b, c):
        listener = socket.socket()
        listener.bind((address, PORT))
        listener.listen()
        listeners.append(listener)
    one, two = _node(), _node()
    try:
        cuts = [netfaults.Cut(netfaults.Member("node1", a, one.pid), (b, c))]
        netfaults.cut(subnet, "policy", cuts, PORT)
        assert (_try(one, b), _try(one, c)) == ("cut", "cut")
        assert (_try(two, a), _try(two, c)) == ("open", "open")  # the other way stays open
        # replacing the chain's cuts: only b is cut now
        netfaults.cut(subnet, "policy", [netfaults.Cut(cuts[0].source, (b,))], PORT)
        assert (_try(one, b), _try(one, c)) == ("cut", "open")
        netfaults.heal(subnet, "policy")
        assert netfaults.table_name(subnet) not in netfaults.tables()
        assert _try(one, b) == "open"
    finally:
        for process in (one, two):
            process.kill()
        for listener in listeners:
            listener.close()


def test_a_cut_with_no_destination_is_refused(subnet: int) -> None:
    member = netfaults.Member("node1", f"127.0.{subnet}.1", 1)
    with pytest.raises(ClusterError, match="no source has a destination to cut"):
        netfaults.cut(subnet, "policy", [netfaults.Cut(member, ())], PORT)


def test_without_the_rights_to_nftables_a_cut_fails_saying_why(subnet: int) -> None:
    """As the stand-in would run without root: every capability dropped."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed: apt-get install util-linux"
    target = _node()
    script = (
        "from cqltest.local import netfaults\n"
        "from cqltest.errors import CqltestError\n"
        f"member = netfaults.Member('node1', '127.0.{subnet}.1', {target.pid})\n"
        "try:\n"
        f"    netfaults.cut({subnet}, 'policy', [netfaults.Cut(member, ('127.0.{subnet}.2',))],"
        f" {PORT})\n"
        "except CqltestError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    try:
        done = subprocess.run(
            [setpriv, "--inh-caps=-all", "--bounding-set=-all", sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        target.kill()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ClusterError nft -f - (a partition's rules) failed:"), done
    assert "Operation not permitted" in done.stdout, done.stdout
    assert netfaults.table_name(subnet) not in netfaults.tables()
