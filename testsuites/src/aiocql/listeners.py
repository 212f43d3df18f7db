"""The request-event interface that metrics consumers (the cqlsuites result plugin, Prometheus
adapters, tests) code against.

One callable per listener, called once per finished driver request, always on the event-loop
thread, so listeners never need locks. It is a stable contract: fields are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["RequestEvent", "RequestKind", "RequestListener", "RequestOutcome"]

RequestKind = Literal["execute", "batch", "page", "prepare", "check_host", "set_keyspace"]
"""``page`` = a stream/``execute_all``/``next_page`` request for a page after the first."""

RequestOutcome = Literal["ok", "error", "timeout", "cancelled", "closed"]


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One finished request, as seen by the awaiting coroutine.

    ``latency`` is seconds from submission until the event loop saw the outcome (what the
    caller experiences, including any wait for the loop). ``error_kind`` is the exception class
    name (``"WriteTimeout"``, ``"NoHostAvailable"``, ``"RequestTimeout"``...) or ``None``.
    """

    kind: RequestKind
    outcome: RequestOutcome
    latency: float
    rows: int
    error: BaseException | None
    error_kind: str | None
    query: str


class RequestListener(Protocol):
    """Anything callable with a :class:`RequestEvent`; exceptions it raises are logged, not
    propagated, so a faulty listener cannot break requests."""

    def __call__(self, event: RequestEvent, /) -> None: ...
