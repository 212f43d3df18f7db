"""The shape of a local cluster: datacenters, racks, node addresses, seeds and tokens.

This is pure so the rules a user can get wrong (``--dcs`` syntax, names, sizes) and the rules
that make parallel start-up safe (distinct, evenly spaced tokens; one seed per datacenter) are
unit-tested without starting a JVM. Nothing here touches the network or the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cqltest.errors import InputError

#: Loopback subnets are 127.0.X.0/24 with X in this range; X=0 is left to the host's own services.
SUBNET_RANGE = range(1, 255)
#: JMX ports are ``JMX_BASE + X * 100 + node_index``, all below Linux's ephemeral range (32768),
#: so a cluster's ports are a function of its subnet and two clusters never share one.
JMX_BASE = 7200
MAX_NODES = 99
NATIVE_PORT = 9042
STORAGE_PORT = 7000
#: The superuser cqltest creates when authentication is on and the spec names none (the default
#: 'cassandra' role, whose password everybody knows, is dropped once this one exists).
SUPERUSER = "cqltest"
#: Files of a given TLS store directory (``ClusterSpec.client_stores``/``internode_stores``).
KEYSTORE_FILE = "keystore.pem"
TRUSTSTORE_FILE = "truststore.pem"

_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,46}[a-z0-9])?$")
_DC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")
_DCS_ITEM = re.compile(r"^(?P<name>[^:]+):(?P<nodes>[0-9]+)$")

_MIN_TOKEN = -(2**63)
_TOKEN_SPAN = 2**64
#: Each datacenter's ring is shifted by this much so tokens stay unique across datacenters
#: while every datacenter's own ring is evenly balanced (what NetworkTopologyStrategy walks).
_DC_TOKEN_OFFSET = 100


@dataclass(frozen=True)
class DatacenterSpec:
    """One datacenter: a name, a node count and optional rack names assigned round-robin."""

    name: str
    nodes: int = 1
    racks: list[str] = field(default_factory=list)

    def rack_names(self) -> list[str]:
        return list(self.racks) if self.racks else ["rack1"]


@dataclass(frozen=True)
class ClusterSpec:
    """Everything a user chooses about a local cluster; ``version=None`` is the pinned default."""

    name: str = "default"
    datacenters: list[DatacenterSpec] = field(default_factory=lambda: [DatacenterSpec("dc1", 1)])
    authentication: bool = False
    client_tls: bool = False
    internode_tls: bool = False
    version: str | None = None
    heap: str = "256M"
    #: Extra JVM flags appended after cqltest's own (so they win), e.g. ["-XX:TieredStopAtLevel=1"].
    jvm_options: list[str] = field(default_factory=list)
    #: ``cluster_name`` in cassandra.yaml when it must differ from ``name`` (a directory name).
    cassandra_name: str | None = None
    #: The superuser created when authentication is on, and its password (None: a random one).
    superuser: str = SUPERUSER
    superuser_password: str | None = None
    #: Directories holding PEM stores to use instead of a generated CA: ``keystore.pem`` (the
    #: private key, then its certificate chain) and ``truststore.pem`` (the CA certificates).
    #: Every node presents the same keystore, so clients and peers verify the chain, not the host.
    client_stores: str | None = None
    internode_stores: str | None = None


@dataclass(frozen=True)
class NodePlan:
    """Where and how one node lives: derived from the spec and the cluster's subnet only."""

    index: int
    name: str
    address: str
    datacenter: str
    rack: str
    token: int
    seed: bool
    jmx_port: int


def validate_name(name: str) -> str:
    """A cluster name becomes a directory name, so it is restricted to a safe lowercase set."""
    if not _NAME.match(name):
        raise InputError(
            f"--name {name!r} is invalid: use 1-48 characters of a-z, 0-9, '-' and '_', "
            "starting and ending with a letter or digit"
        )
    return name


def validate_security(spec: ClusterSpec) -> None:
    """Given stores only make sense with the TLS they are for, and a superuser needs a name."""
    if spec.client_stores is not None and not spec.client_tls:
        raise InputError("client_stores is given but client TLS is off")
    if spec.internode_stores is not None and not spec.internode_tls:
        raise InputError("internode_stores is given but internode TLS is off")
    if not spec.superuser:
        raise InputError("superuser is empty: a superuser needs a name")


def parse_dcs(text: str, racks: int = 1) -> list[DatacenterSpec]:
    """Parse ``--dcs dc1:3,dc2:2`` into datacenters, each with ``racks`` racks r1..rN."""
    if racks < 1:
        raise InputError(f"--racks {racks} is invalid: must be at least 1")
    if not text.strip():
        raise InputError(
            "--dcs '' is invalid: expected NAME:NODES[,NAME:NODES...], e.g. dc1:3,dc2:2"
        )
    result: list[DatacenterSpec] = []
    for raw in text.split(","):
        item = raw.strip()
        match = _DCS_ITEM.match(item)
        if not match:
            raise InputError(
                f"--dcs {text!r} is invalid: item {item!r} is not NAME:NODES "
                "(expected e.g. dc1:3,dc2:2)"
            )
        nodes = int(match.group("nodes"))
        rack_names = [f"r{i}" for i in range(1, min(racks, max(nodes, 1)) + 1)] if racks > 1 else []
        result.append(DatacenterSpec(match.group("name"), nodes, rack_names))
    validate_datacenters(result)
    return result


def validate_datacenters(datacenters: list[DatacenterSpec]) -> None:
    """Reject topologies Cassandra or the address plan cannot honour, naming the offending value."""
    if not datacenters:
        raise InputError("datacenters is empty: a cluster needs at least one datacenter")
    seen: set[str] = set()
    for dc in datacenters:
        if not _DC_NAME.match(dc.name):
            raise InputError(
                f"datacenter name {dc.name!r} is invalid: use letters, digits, '-' and '_' "
                "(at most 48 characters)"
            )
        if dc.name in seen:
            raise InputError(f"datacenter name {dc.name!r} is given twice: names must be unique")
        seen.add(dc.name)
        if dc.nodes < 1:
            raise InputError(f"datacenter {dc.name!r} has {dc.nodes} nodes: must be at least 1")
        for rack in dc.racks:
            if not _DC_NAME.match(rack):
                raise InputError(f"rack name {rack!r} in datacenter {dc.name!r} is invalid")
    total = sum(dc.nodes for dc in datacenters)
    if total > MAX_NODES:
        raise InputError(f"the cluster has {total} nodes: at most {MAX_NODES} fit one subnet")


def dc_tokens(nodes: int, dc_index: int) -> list[int]:
    """Evenly spaced Murmur3 tokens for one datacenter's ring (one token per node).

    With ``num_tokens: 1`` and these ``initial_token``s, no node has to allocate tokens or
    bootstrap-stream data, which is what lets a fresh cluster start all its nodes at once.
    """
    step = _TOKEN_SPAN // nodes
    return [_MIN_TOKEN + i * step + dc_index * _DC_TOKEN_OFFSET for i in range(nodes)]


def subnet_address(subnet: int, node_index: int) -> str:
    return f"127.0.{subnet}.{node_index + 1}"


def jmx_port(subnet: int, node_index: int) -> int:
    return JMX_BASE + subnet * 100 + node_index + 1


def plan_nodes(spec: ClusterSpec, subnet: int) -> list[NodePlan]:
    """Lay the spec's nodes out on 127.0.``subnet``.1.. in datacenter order.

    The first node of each datacenter is its seed: one seed per DC lets every DC gossip even
    when another DC is down, and seeds never auto-bootstrap.
    """
    validate_datacenters(spec.datacenters)
    if subnet not in SUBNET_RANGE:
        raise InputError(f"subnet {subnet} is invalid: must be in 1..254")
    plans: list[NodePlan] = []
    index = 0
    for dc_index, dc in enumerate(spec.datacenters):
        racks = dc.rack_names()
        for i, token in enumerate(dc_tokens(dc.nodes, dc_index)):
            plans.append(
                NodePlan(
                    index=index,
                    name=f"node{index + 1}",
                    address=subnet_address(subnet, index),
                    datacenter=dc.name,
                    rack=racks[i % len(racks)],
                    token=token,
                    seed=i == 0,
                    jmx_port=jmx_port(subnet, index),
                )
            )
            index += 1
    return plans


def datacenter_addresses(nodes: list[NodePlan]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for node in nodes:
        result.setdefault(node.datacenter, []).append(node.address)
    return result


_HEAP = re.compile(r"^[1-9][0-9]*[MmGg]$")


def validate_heap(heap: str) -> str:
    """A heap is an -Xmx value in M or G; Cassandra 5.0 does not start below 128M."""
    if not _HEAP.match(heap):
        raise InputError(f"heap {heap!r} is invalid: expected a size like 256M or 1G")
    megabytes = int(heap[:-1]) * (1024 if heap[-1] in "Gg" else 1)
    if megabytes < 128:
        raise InputError(f"heap {heap!r} is too small: Cassandra needs at least 128M")
    return heap


@dataclass(frozen=True)
class ClusterInfo:
    """How to reach a running cluster; ``to_dict`` is the ``cluster up --output json`` object."""

    name: str
    contact_points: list[str]
    port: int
    datacenters: dict[str, list[str]]
    username: str | None = None
    password: str | None = None
    ca_path: str | None = None
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "contact_points": list(self.contact_points),
            "port": self.port,
            "datacenters": {dc: list(addrs) for dc, addrs in self.datacenters.items()},
            "username": self.username,
            "password": self.password,
            "ca_path": self.ca_path,
        }
