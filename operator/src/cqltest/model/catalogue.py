"""What a TestRun asks of the built-in suites, checked against what each suite declares.

Every built-in suite ships a ``suite.yaml`` (read by :mod:`cqlsuites.catalogue`, pure data, so
cqltest never imports a suite). With it, a manifest is checked before anything starts: a param
a suite does not declare or of the wrong type, and a suite whose needs the declared cluster
cannot meet, are manifest problems naming the suite, the param or need, and what is accepted.
Unmet needs are rejected rather than skipped: a TestRun that silently skips the suite a user
named reports Succeeded for a test that never ran. For an ``existing`` cluster that declares no
``datacenters`` the topology is unknown, so nodes and datacenters are not checked (the tests
that need more skip themselves with the reason); authentication and TLS are, from the
credentials and CA it gives. A suite entry without a ``timeout`` gets its ``suite.yaml`` one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cqlsuites.catalogue import SuiteInfo

from cqltest.errors import Problem
from cqltest.model.testrun import TestRun


@dataclass(frozen=True)
class Catalogue:
    """The installed suites by name; ``broken`` holds the ones whose ``suite.yaml`` is invalid."""

    suites: Mapping[str, SuiteInfo] = field(default_factory=dict)
    broken: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> frozenset[str]:
        return frozenset(self.suites) | frozenset(self.broken)


@dataclass(frozen=True)
class Offer:
    """What a manifest's cluster offers a suite; None where the manifest does not say."""

    nodes: int | None
    datacenters: int | None
    authentication: bool
    tls: bool


def cluster_offer(cluster: object) -> Offer:
    """The topology and security of a raw ``spec.cluster`` (lenient: schema errors come first)."""
    cluster = cluster if isinstance(cluster, Mapping) else {}
    dcs = [dc for dc in cluster.get("datacenters") or [] if isinstance(dc, Mapping)]
    sizes = [dc.get("size") for dc in dcs]
    nodes = sum(s for s in sizes if isinstance(s, int)) if dcs else None
    existing = cluster.get("existing")
    if isinstance(existing, Mapping):
        return Offer(
            nodes=nodes,
            datacenters=len(dcs) if dcs else None,
            authentication=existing.get("username") is not None,
            tls=existing.get("caPath") is not None,
        )
    security = cluster.get("security")
    security = security if isinstance(security, Mapping) else {}
    tls = security.get("tls")
    return Offer(
        nodes=nodes,
        datacenters=len(dcs),
        authentication=security.get("authentication") is True,
        tls=isinstance(tls, Mapping) and tls.get("client") is True,
    )


def unmet_needs(info: SuiteInfo, offer: Offer) -> list[str]:
    """Why ``offer`` cannot run ``info``, one reason per need; empty when it can."""
    needs = info.needs
    reasons = []
    if offer.nodes is not None and offer.nodes < needs.nodes:
        reasons.append(f"needs at least {needs.nodes} nodes, the cluster has {offer.nodes}")
    if offer.datacenters is not None and offer.datacenters < needs.datacenters:
        reasons.append(
            f"needs at least {needs.datacenters} datacenters, the cluster has {offer.datacenters}"
        )
    if needs.authentication and not offer.authentication:
        reasons.append(
            "needs authentication: set cluster.security.authentication: true "
            "(or existing.username and a password)"
        )
    if needs.tls and not offer.tls:
        reasons.append(
            "needs client TLS: set cluster.security.tls.client: true (or existing.caPath)"
        )
    return reasons


def catalogue_problems(data: object, catalogue: Catalogue) -> list[Problem]:
    """Params and needs of every built-in suite entry of a raw manifest, against the catalogue."""
    spec = data.get("spec") if isinstance(data, Mapping) else None
    if not isinstance(spec, Mapping) or not isinstance(spec.get("suites"), list):
        return []
    offer = cluster_offer(spec.get("cluster"))
    problems: list[Problem] = []
    for index, entry in enumerate(spec["suites"]):
        if not isinstance(entry, Mapping) or any(
            entry.get(k) is not None for k in ("path", "command")
        ):
            continue
        name = entry.get("suite", entry.get("name"))
        path = f"spec.suites[{index}]"
        if name in catalogue.broken:
            message = f'built-in suite "{name}" cannot be used: {catalogue.broken[name]}'
            problems.append(Problem(path, name, message))
        info = catalogue.suites.get(name) if isinstance(name, str) else None
        if info is None:
            continue
        params = entry.get("params")
        if isinstance(params, Mapping):
            problems += [
                Problem(f"{path}.params.{param}", value, message)
                for param, value, message in info.problems(params)
            ]
        problems += [
            Problem(f"{path}.suite" if "suite" in entry else f"{path}.name", name, reason)
            for reason in (f'suite "{name}" {why}' for why in unmet_needs(info, offer))
        ]
    return problems


def with_catalogue_defaults(run: TestRun, catalogue: Catalogue) -> TestRun:
    """``run`` with each built-in suite entry that gives no ``timeout`` given its suite's own."""
    suites = []
    changed = False
    for suite in run.spec.suites:
        info = catalogue.suites.get(suite.builtin_suite or "")
        if info is not None and "timeout" not in suite.model_fields_set:
            update: dict[str, Any] = {"timeout": timedelta(seconds=info.timeout_seconds)}
            suite = suite.model_copy(update=update)
            changed = True
        suites.append(suite)
    if not changed:
        return run
    return run.model_copy(update={"spec": run.spec.model_copy(update={"suites": suites})})
