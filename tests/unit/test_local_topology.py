"""The pure topology rules of cqltest.local: --dcs parsing, addresses, seeds, tokens."""

from __future__ import annotations

import itertools
import re

import pytest
from cqltest.errors import InputError
from cqltest.local.topology import (
    ClusterSpec,
    DatacenterSpec,
    datacenter_addresses,
    dc_tokens,
    jmx_port,
    parse_dcs,
    plan_nodes,
    validate_heap,
    validate_name,
    validate_security,
)
from hypothesis import given
from hypothesis import strategies as st


def test_parse_dcs_names_counts_and_racks() -> None:
    assert parse_dcs("dc1:3,dc2:2") == [DatacenterSpec("dc1", 3), DatacenterSpec("dc2", 2)]
    assert parse_dcs(" dc1:3 , dc2:1 ", racks=3) == [
        DatacenterSpec("dc1", 3, ["r1", "r2", "r3"]),
        DatacenterSpec("dc2", 1, ["r1"]),
    ]


@pytest.mark.parametrize(
    ("text", "racks", "fragment"),
    [
        ("", 1, "--dcs ''"),
        ("dc1", 1, "item 'dc1' is not NAME:NODES"),
        ("dc1:", 1, "item 'dc1:'"),
        ("dc1:3,", 1, "item ''"),
        ("dc1:-1", 1, "item 'dc1:-1'"),
        ("dc1:0", 1, "'dc1' has 0 nodes"),
        ("dc1:1,dc1:2", 1, "'dc1' is given twice"),
        ("d c:1", 1, "'d c' is invalid"),
        ("dc1:100", 1, "100 nodes"),
        ("dc1:1", 0, "--racks 0"),
    ],
)
def test_parse_dcs_rejects_with_the_value_and_rule(text: str, racks: int, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        parse_dcs(text, racks)


@pytest.mark.parametrize("name", ["default", "a", "run-1_x", "x" * 48])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a/b", "..", "x" * 49, "a b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InputError, match="--name"):
        validate_name(name)


@pytest.mark.parametrize(
    ("heap", "ok"), [("256M", True), ("1G", True), ("64M", False), ("1T", False), ("", False)]
)
def test_heap(heap: str, ok: bool) -> None:
    if ok:
        assert validate_heap(heap) == heap
    else:
        with pytest.raises(InputError, match="heap"):
            validate_heap(heap)


def test_plan_nodes_addresses_seeds_racks_and_ports() -> None:
    spec = ClusterSpec(
        name="t",
        datacenters=[DatacenterSpec("dc1", 3, ["r1", "r2"]), DatacenterSpec("dc2", 2)],
    )
    plans = plan_nodes(spec, subnet=7)
    assert [p.address for p in plans] == [f"127.0.7.{i}" for i in range(1, 6)]
    assert [p.name for p in plans] == [f"node{i}" for i in range(1, 6)]
    assert [p.seed for p in plans] == [True, False, False, True, False]
    assert [p.rack for p in plans] == ["r1", "r2", "r1", "rack1", "rack1"]
    assert [p.jmx_port for p in plans] == [jmx_port(7, i) for i in range(5)]
    assert datacenter_addresses(plans) == {
        "dc1": ["127.0.7.1", "127.0.7.2", "127.0.7.3"],
        "dc2": ["127.0.7.4", "127.0.7.5"],
    }


def test_jmx_ports_never_collide_across_subnets_and_stay_below_ephemeral() -> None:
    ports = {jmx_port(subnet, index) for subnet in range(1, 255) for index in range(99)}
    assert len(ports) == 254 * 99
    assert max(ports) < 32768


@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=4))
def test_tokens_are_unique_in_range_and_evenly_spaced(sizes: list[int]) -> None:
    spec = ClusterSpec(datacenters=[DatacenterSpec(f"dc{i}", n) for i, n in enumerate(sizes)])
    tokens = [p.token for p in plan_nodes(spec, 1)]
    assert len(set(tokens)) == len(tokens)
    assert all(-(2**63) <= t < 2**63 for t in tokens)
    for index, size in enumerate(sizes):
        ring = dc_tokens(size, index)
        gaps = {b - a for a, b in itertools.pairwise(ring)}
        assert len(gaps) <= 1


def test_subnet_out_of_range() -> None:
    with pytest.raises(InputError, match="subnet 0"):
        plan_nodes(ClusterSpec(), 0)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (ClusterSpec(client_stores="/s"), "client TLS is off"),
        (ClusterSpec(internode_stores="/s"), "internode TLS is off"),
        (ClusterSpec(authentication=True, superuser=""), "superuser is empty"),
    ],
)
def test_security_rejects_stores_without_their_tls(spec: ClusterSpec, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        validate_security(spec)


def test_security_accepts_stores_with_their_tls() -> None:
    validate_security(
        ClusterSpec(client_tls=True, internode_tls=True, client_stores="/c", internode_stores="/i")
    )
