"""kopf forgets a namespace created while its namespace watch starts; this corrects it.

Serving namespace patterns (``cqltest operator -n 'team-*'``), kopf lists the namespaces, then
starts a watch whose own first listing it replays as events of type ``None``, and its namespace
processor drops those as already known. A namespace created between the two listings is in
neither, so kopf never serves it until it restarts; the same window opens at every restart of
the watch (410 Gone). Seen in CI: a namespace created as the operator came up had its TestRun
ignored for 420 s, while one created minutes later was served. A platform that applies the
operator and its namespaces together (GitOps) can hit it.

The correction hands the replayed listing to kopf's processor as additions. That is what kopf
does with its first listing (``revise_namespaces`` adds a matching namespace, discards a deleted
one), so a namespace seen twice changes nothing. It replaces one module-level function of
``kopf._core.reactor.observation``; kopf is pinned below 1.46 in pyproject.toml, :func:`install`
refuses a kopf whose function no longer takes the keyword arguments it passes on, and
tests/unit/test_operator_namespaces.py runs kopf's own processor both ways, so an upgrade that
changes or fixes it fails there instead of silently.
"""

from __future__ import annotations

import inspect
from typing import Any

from kopf._core.reactor import observation

from cqltest.errors import SetupError

__all__ = ["install"]

_KOPF_PROCESSOR = observation.process_discovered_namespace_event


async def _process_listed_too(*, raw_event: Any, **kwargs: Any) -> None:
    if raw_event["type"] is None:
        raw_event = {"type": "ADDED", "object": raw_event["object"]}
    await _KOPF_PROCESSOR(raw_event=raw_event, **kwargs)


def install() -> None:
    """Make kopf's namespace watch count the namespaces of its own first listing. Idempotent."""
    if observation.process_discovered_namespace_event is _process_listed_too:
        return
    expected = {"raw_event", "namespaces", "insights"}
    parameters = inspect.signature(_KOPF_PROCESSOR).parameters
    if not expected <= set(parameters) or not inspect.iscoroutinefunction(_KOPF_PROCESSOR):
        raise SetupError(
            "kopf's process_discovered_namespace_event no longer takes "
            f"{sorted(expected)}: install the kopf that pyproject.toml pins, or check "
            "cqltest.operator.namespaces against this one"
        )
    observation.process_discovered_namespace_event = _process_listed_too
