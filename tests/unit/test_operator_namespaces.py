"""kopf's namespace processor with and without cqltest's correction (cqltest.operator.namespaces):
a namespace that reaches kopf only through the replayed first listing of its watch (type None)
is served once the correction is installed. Run against kopf's own code, so a kopf upgrade that
changes the processor, or fixes it, shows here."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cqltest.errors import SetupError
from cqltest.operator import namespaces
from kopf._cogs.structs.references import Insights
from kopf._core.reactor import observation


def listed(name: str, **metadata: Any) -> dict[str, Any]:
    return {"type": None, "object": {"metadata": {"name": name, **metadata}}}


def revise(event: dict[str, Any], insights: Insights) -> None:
    process = observation.process_discovered_namespace_event
    asyncio.run(process(raw_event=event, namespaces=["pool-*"], insights=insights))


@pytest.fixture
def kopf_processor() -> Any:
    original = observation.process_discovered_namespace_event
    yield original
    observation.process_discovered_namespace_event = original


def test_kopf_alone_drops_a_namespace_seen_only_in_the_watch_listing(kopf_processor: Any) -> None:
    observation.process_discovered_namespace_event = namespaces._KOPF_PROCESSOR
    insights = Insights()
    revise(listed("pool-new"), insights)
    assert insights.namespaces == set()  # the bug the correction exists for


def test_the_correction_serves_it_and_changes_nothing_else(kopf_processor: Any) -> None:
    namespaces.install()
    namespaces.install()  # idempotent
    insights = Insights()
    revise(listed("pool-new"), insights)
    revise(listed("other"), insights)  # not matching the pattern
    assert insights.namespaces == {"pool-new"}
    revise({"type": "ADDED", "object": {"metadata": {"name": "pool-two"}}}, insights)
    revise({"type": "DELETED", "object": {"metadata": {"name": "pool-new"}}}, insights)
    assert insights.namespaces == {"pool-two"}


def test_a_kopf_whose_processor_changed_is_refused(
    kopf_processor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def changed(*, event: Any) -> None:
        pass

    observation.process_discovered_namespace_event = namespaces._KOPF_PROCESSOR
    monkeypatch.setattr(namespaces, "_KOPF_PROCESSOR", changed)
    with pytest.raises(SetupError, match="process_discovered_namespace_event"):
        namespaces.install()
    assert observation.process_discovered_namespace_event is not namespaces._process_listed_too
