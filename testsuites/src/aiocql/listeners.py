"""The request-event interface that metrics consumers (the cqlsuites result plugin, Prometheus
adapters, tests) code against.

One callable per listener, called once per finished driver request, always on the event-loop
thread, so listeners never need locks. It is a stable contract: fields are only ever added.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "Listeners",
    "RequestEvent",
    "RequestKind",
    "RequestListener",
    "RequestOutcome",
    "notify",
]

log = logging.getLogger("aiocql")

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


def notify(listeners: Iterable[RequestListener], event: RequestEvent) -> None:
    """Call every listener with ``event``, logging (not raising) what a listener raises."""
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            log.exception("aiocql request listener %r failed", listener)


class Listeners(list[RequestListener]):
    """A session's listeners; the session's bridges hold this same list, so a listener added
    later hears every request from then on."""

    def add(self, listener: RequestListener) -> Callable[[], None]:
        """Add ``listener``; returns a function that removes it."""
        if not callable(listener):
            raise TypeError(f"listener={listener!r}: must be callable with a RequestEvent")
        self.append(listener)
        return lambda: self.discard(listener)

    def discard(self, listener: RequestListener) -> None:
        with contextlib.suppress(ValueError):
            self.remove(listener)
