"""NetworkPolicy admission between node Pods: which node may not reach which (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from cqltest.localkube.k8ssandra.netpolicy import NodeView, PolicyError, denied, selects

PORT = 7000
DC = "cassandra.datastax.com/datacenter"
POD = "statefulset.kubernetes.io/pod-name"


def node(name: str, dc: str, address: str, namespace: str = "ns") -> NodeView:
    labels = {"cassandra.datastax.com/cluster": "c", DC: dc, POD: name}
    return NodeView(name, namespace, labels, address)


A1, A2 = node("c-dc1-r-sts-0", "dc1", "127.0.5.1"), node("c-dc1-r-sts-1", "dc1", "127.0.5.2")
B1 = node("c-dc2-r-sts-0", "dc2", "127.0.5.3")
PODS = [A1, A2, B1]


def policy(
    selector: dict[str, Any],
    ingress: list[dict[str, Any]] | None,
    *,
    namespace: str = "ns",
    types: list[str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector}
    if ingress is not None:
        spec["ingress"] = ingress
    if types is not None:
        spec["policyTypes"] = types
    return {"metadata": {"name": "p", "namespace": namespace}, "spec": spec}


def in_dc(dc: str) -> dict[str, Any]:
    return {"matchLabels": {"cassandra.datastax.com/cluster": "c", DC: dc}}


def not_in(key: str, values: list[str]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": "NotIn", "values": values}]}


def pair_peer(selector: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"from": [{"namespaceSelector": {}, "podSelector": selector}]}]


def test_the_operators_datacenter_pair_cuts_both_ways_and_keeps_each_side_whole() -> None:
    pair = [
        policy(in_dc("dc1"), pair_peer(not_in(DC, ["dc2"])), types=["Ingress"]),
        policy(in_dc("dc2"), pair_peer(not_in(DC, ["dc1"])), types=["Ingress"]),
    ]
    assert denied(pair, PODS, PORT) == {
        A1.name: frozenset({B1.name}),
        A2.name: frozenset({B1.name}),
        B1.name: frozenset({A1.name, A2.name}),
    }


def test_a_node_list_pair_by_pod_name() -> None:
    side = [A1.name]
    pair = [
        policy({"matchExpressions": [{"key": POD, "operator": "In", "values": side}]},
               pair_peer({"matchExpressions": [{"key": POD, "operator": "In", "values": side}]})),
        policy(not_in(POD, side), pair_peer(not_in(POD, side))),
    ]  # fmt: skip
    assert denied(pair, PODS, PORT) == {
        A1.name: frozenset({A2.name, B1.name}),
        A2.name: frozenset({A1.name}),
        B1.name: frozenset({A1.name}),
    }


def test_one_policy_is_a_directed_cut() -> None:
    only = [policy(in_dc("dc2"), pair_peer(not_in(DC, ["dc1"])))]
    assert denied(only, PODS, PORT) == {
        A1.name: frozenset({B1.name}),
        A2.name: frozenset({B1.name}),
    }


@pytest.mark.parametrize(
    ("ingress", "cut"),
    [
        (None, True),  # selected, no rule: deny all ingress
        ([], True),
        ([{}], False),  # a rule without from admits everyone
        ([{"from": []}], False),
        ([{"ports": [{"port": 9042}]}], True),  # not the storage port
        ([{"ports": [{"port": 7000}]}], False),
        ([{"ports": [{"port": "internode"}]}], False),
        ([{"ports": [{"port": 6000, "endPort": 7100}]}], False),
        ([{"ports": [{"protocol": "UDP", "port": 7000}]}], True),
        ([{"ports": [{"protocol": "TCP"}]}], False),  # every TCP port
        ([{"from": [{"ipBlock": {"cidr": "127.0.5.0/24"}}]}], False),
        ([{"from": [{"ipBlock": {"cidr": "127.0.5.0/24", "except": ["127.0.5.0/30"]}}]}], True),
        ([{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}], True),
        ([{"from": [{"podSelector": {}}]}], False),  # every Pod of the namespace
        ([{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}], False),
        ([{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}], True),
        ([{"from": [{"podSelector": {"matchLabels": {DC: "dc3"}}}]}], True),
        ([{"from": [{"podSelector": {"matchExpressions": [{"key": DC, "operator": "Exists"}]}}]}],
         False),
        ([{"from": [{"podSelector": {"matchExpressions": [
            {"key": DC, "operator": "DoesNotExist"}]}}]}], True),
        # a second rule admitting is enough
        ([{"from": [{"podSelector": {"matchLabels": {DC: "dc3"}}}]},
          {"from": [{"podSelector": {}}]}], False),
    ],
)  # fmt: skip
def test_ingress_rules(ingress: list[dict[str, Any]] | None, cut: bool) -> None:
    limited = [policy(in_dc("dc2"), ingress)]
    result = denied(limited, [A1, B1], PORT, {"ns": {"team": "a"}})
    assert result == ({A1.name: frozenset({B1.name})} if cut else {})


def test_policies_that_do_not_limit_ingress_of_these_pods_change_nothing() -> None:
    deny_all: list[dict[str, Any]] = []
    assert denied([policy({}, deny_all, types=["Egress"])], PODS, PORT) == {}
    assert denied([policy({}, deny_all, namespace="other")], PODS, PORT) == {}
    assert denied([policy(in_dc("dc3"), deny_all)], PODS, PORT) == {}
    assert denied([], PODS, PORT) == {}


def test_policies_add_up_a_source_admitted_by_any_selecting_policy_gets_in() -> None:
    allow_dc1 = policy(in_dc("dc2"), [{"from": [{"podSelector": in_dc("dc1")}]}])
    deny_all = policy(in_dc("dc2"), [])
    assert denied([deny_all, allow_dc1], PODS, PORT) == {}


def test_a_pod_selector_peer_is_of_the_policys_namespace_only() -> None:
    stranger = node("x-dc1-r-sts-0", "dc1", "127.0.6.1", namespace="other")
    limited = [policy(in_dc("dc2"), [{"from": [{"podSelector": {}}]}])]
    assert denied(limited, [stranger, B1], PORT) == {stranger.name: frozenset({B1.name})}
    both = [policy(in_dc("dc2"), [{"from": [{"namespaceSelector": {}, "podSelector": {}}]}])]
    assert denied(both, [stranger, B1], PORT) == {}
    across = [policy(in_dc("dc1"), [{"from": [{"podSelector": {}}]}], namespace="other")]
    assert denied(across, [stranger, B1], PORT) == {B1.name: frozenset({stranger.name})}


def test_selectors() -> None:
    labels = {"a": "1", "b": "2"}
    assert selects({}, labels, "s")
    assert selects(None, labels, "s")
    assert selects({"matchLabels": {"a": "1"}}, labels, "s")
    assert not selects({"matchLabels": {"a": "2"}}, labels, "s")
    assert selects({"matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["x"]}]},
                   labels, "s")  # fmt: skip
    assert not selects({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]},
                       labels, "s")  # fmt: skip


def test_an_unknown_operator_names_the_policy_and_field() -> None:
    bad = policy({"matchExpressions": [{"key": DC, "operator": "Gt", "values": ["1"]}]}, [])
    rule = r"must be one of In, NotIn, Exists, DoesNotExist"
    where = r"NetworkPolicy ns/p spec.podSelector.matchExpressions\[0\].operator 'Gt'"
    with pytest.raises(PolicyError, match=f"{where}: {rule}"):
        denied([bad], PODS, PORT)
