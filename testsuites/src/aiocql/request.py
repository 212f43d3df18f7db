"""One driver request, and what the driver's objects may keep of it.

A request's pages must be freed by reference counting the moment its consumer drops them, so
nothing the driver holds may point back at a request (see :class:`Request`), and the one
reference cycle inside the driver itself (``ResponseFuture._timer``) is cut once the driver
has settled the future (see :data:`DROP_SETTLED_TIMER`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from cassandra.cluster import ResponseFuture

from .listeners import RequestKind

if TYPE_CHECKING:
    from .options import CallOptions

__all__ = ["DROP_SETTLED_TIMER", "Request", "query_text"]

log = logging.getLogger("aiocql")


def _driver_keeps_timer_in_timer_attribute() -> bool:
    # Writing an attribute the driver no longer has would silently do nothing (and the pages
    # would again wait for the cycle collector), so the layout is checked once, here, and
    # tests/unit/aiocql/test_page_lifetime.py fails if a driver upgrade changes it.
    names = vars(ResponseFuture)
    if "_timer" in names and "_cancel_timer" in names and "_start_timer" in names:
        return True
    log.warning(
        "aiocql: cassandra-driver's ResponseFuture has no _timer/_cancel_timer/_start_timer; "
        "settled pages will be freed only by the cycle collector"
    )
    return False


DROP_SETTLED_TIMER = _driver_keeps_timer_in_timer_attribute()
"""Whether the bridge clears ``ResponseFuture._timer`` after the driver settled a future.

The driver cancels that timer when it settles the future, but a cancelled timer keeps its
callback (the future's bound ``_on_timeout``), so future and timer form a cycle. Clearing the
attribute is safe only after settlement (the driver never reads it again, and
``_start_timer`` would create a fresh timer if a page were fetched through the driver), which
is the only place the bridge does it; a request that aiocql settles itself (deadline,
cancellation, close) keeps its timer, because the driver still needs it to give up the
request's stream id."""


class Request:
    """One driver request: built and settled on the loop thread, sent on whichever thread
    ``LoopBridge`` sends from.

    The driver's ``ResponseFuture`` (``rf``, set once sent) never references the request:
    its callbacks carry only the request's ``key`` into ``LoopBridge.pending``. A reference
    back would make a cycle (request -> future -> page, future -> callbacks -> request) that
    holds every page until the cycle collector runs.
    """

    __slots__ = (
        "abandoned",
        "call",
        "deadline",
        "fut",
        "key",
        "kind",
        "options",
        "paging_state",
        "parameters",
        "rf",
        "start",
    )

    def __init__(
        self,
        fut: asyncio.Future[Any],
        kind: RequestKind,
        call: Any,
        parameters: Any,
        options: CallOptions,
        paging_state: bytes | None,
        start: float,
    ) -> None:
        self.fut = fut
        self.kind: RequestKind = kind
        self.call = call  # the statement (for listeners' query text)
        self.parameters = parameters
        self.options = options
        self.paging_state = paging_state
        self.start = start
        self.deadline = start + options.timeout
        self.rf: Any = None
        self.key = 0
        self.abandoned = False  # settled by aiocql itself: not to be sent any more


def query_text(query: Any) -> str:
    """Human-readable CQL of any statement type, for events and error messages."""
    if isinstance(query, str):
        return query
    text = getattr(query, "query_string", None)
    if text is None:
        prepared = getattr(query, "prepared_statement", None)
        text = getattr(prepared, "query_string", None)
    if text is None:
        return type(query).__name__
    return str(text)
