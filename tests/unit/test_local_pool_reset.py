"""The pool's reset against fake nodes: which node each drop goes to, and the one agreement wait.

The CQL sessions are faked (the protocol boundary); each fake node has its own schema, which a
drop reaches on the coordinator at once and on the other nodes a few polls later, as Cassandra's
schema push does. A real reset of real clusters is tested in ``tests/cassandra/test_local_pool``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from cassandra.cluster import Session
from cqltest.errors import ClusterError
from cqltest.local import reset
from cqltest.local.cluster import LocalCluster

KEPT = {"keyspaces": ["system", "system_auth"], "roles": ["cassandra"]}


class _Rows(list[Any]):
    def one(self) -> Any:
        return self[0]


class _Done:
    def __init__(self, rows: Iterable[Any] = ()) -> None:
        self.rows = _Rows(rows)

    def result(self) -> _Rows:
        return self.rows


@dataclass
class _Node:
    keyspaces: set[str]
    #: Schema reads of this node until a drop sent elsewhere reaches it (None: never).
    lag: int | None = 2
    pending: list[tuple[int, str]] = field(default_factory=list)
    polls: int = 0

    def version(self) -> str:
        return ",".join(sorted(self.keyspaces))


class _Session:
    """One node's session: schema reads answered from its own schema, drops pushed to peers."""

    def __init__(self, node: _Node, peers: list[_Node], log: list[tuple[int, str]]) -> None:
        self.node, self.peers, self.log = node, peers, log

    def execute_async(self, query: str, timeout: float | None = None) -> _Done:
        node = self.node
        if query.startswith("SELECT"):
            node.polls += 1
            node.keyspaces -= {k for due, k in node.pending if due <= node.polls}
        if query.startswith("SELECT keyspace_name"):
            return _Done(SimpleNamespace(keyspace_name=k) for k in sorted(node.keyspaces))
        if query.startswith("SELECT schema_version"):
            return _Done([SimpleNamespace(schema_version=node.version())])
        self.log.append((id(node), query))
        dropped = re.fullmatch(r'DROP KEYSPACE IF EXISTS "(.+)"', query)
        if dropped:
            node.keyspaces.discard(dropped[1])
            for peer in self.peers:
                if peer is not node and peer.lag is not None:
                    peer.pending.append((peer.polls + peer.lag, dropped[1]))
        return _Done()


def _sessions(nodes: list[_Node]) -> tuple[dict[str, Session], list[tuple[int, str]]]:
    log: list[tuple[int, str]] = []
    sessions = {
        f"127.0.1.{i}": cast(Session, _Session(node, nodes, log)) for i, node in enumerate(nodes, 1)
    }
    return sessions, log


CLUSTER = cast(LocalCluster, SimpleNamespace(name="pool-test"))


def test_each_keyspace_is_dropped_where_it_exists_and_agreement_is_awaited_once() -> None:
    base = {"system", "system_auth"}
    nodes = [_Node(base | {"a", "both"}), _Node(base | {"both", "b"}), _Node(base | {"both"})]
    sessions, log = _sessions(nodes)
    views = reset._views(sessions)
    seen = set().union(*(view.keyspaces for view in views.values()))
    reset._drop(sessions, views, ["a", "b", "both"], ["litterbug"])
    assert log == [
        (id(nodes[0]), 'DROP KEYSPACE IF EXISTS "a"'),
        (id(nodes[1]), 'DROP KEYSPACE IF EXISTS "b"'),  # only the second node had it
        (id(nodes[0]), 'DROP KEYSPACE IF EXISTS "both"'),
        (id(nodes[0]), 'DROP ROLE IF EXISTS "litterbug"'),
    ]
    assert seen - base == {"a", "b", "both"}
    reset._await_agreement(CLUSTER, sessions, KEPT, timeout=10.0)
    assert all(node.keyspaces == base for node in nodes)
    # the drops reached the other nodes only after polls: the wait did wait
    assert all(node.polls >= 2 for node in nodes[1:])


def test_a_node_the_drop_never_reaches_fails_the_reset_naming_it() -> None:
    base = {"system", "system_auth"}
    nodes = [_Node(base | {"litter"}), _Node(base | {"litter"}, lag=None)]
    sessions, _ = _sessions(nodes)
    reset._drop(sessions, reset._views(sessions), ["litter"], [])
    with pytest.raises(ClusterError) as caught:
        reset._await_agreement(CLUSTER, sessions, KEPT, timeout=0.3)
    message = str(caught.value)
    assert "'pool-test'" in message
    assert "127.0.1.2 has version litter,system,system_auth, keyspaces left ['litter']" in message
    assert "127.0.1.1 has version system,system_auth, keyspaces left none" in message


def test_nothing_beyond_the_baseline_returns_after_one_look() -> None:
    base = {"system", "system_auth"}
    nodes = [_Node(set(base)), _Node(set(base))]
    sessions, log = _sessions(nodes)
    reset._await_agreement(CLUSTER, sessions, KEPT, timeout=10.0)
    assert log == []
    assert [node.polls for node in nodes] == [3, 3]  # its version, then keyspaces and version
