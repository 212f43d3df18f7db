"""Asking one host directly whether it answers, apart from the driver's opinion of it.

The driver marks a host down or up from its own connection events, which lag reality in both
directions (a paused node keeps its connections; a restarted one waits for the next
reconnection attempt). Tests that kill, pause or partition nodes need to know what the host
does *now*, so :func:`check_host` pins one cheap query to it, with no retry elsewhere, and
reports the driver's opinion beside the answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from cassandra.query import SimpleStatement

from .errors import SessionClosedError

if TYPE_CHECKING:
    from .session import AsyncSession

__all__ = ["HostHealth", "check_host", "find_host"]

_HEALTH_QUERY = SimpleStatement("SELECT release_version FROM system.local")


@dataclass(frozen=True, slots=True)
class HostHealth:
    """What ``check_host`` saw when it queried one host directly."""

    address: str
    up: bool
    """True when the host itself answered the probe query."""
    latency: float | None
    release_version: str | None
    error: BaseException | None
    driver_marked_up: bool | None
    """The driver's own opinion (``Host.is_up``), which may lag reality."""


def find_host(hosts: list[Any], host: Any) -> Any:
    """The driver ``Host`` among ``hosts`` that ``host`` (a ``Host``, an address or an
    endpoint string) names."""
    if not isinstance(host, str):
        if host in hosts:
            return host
        host = str(getattr(host, "address", host))
    for candidate in hosts:
        if str(candidate.address) == host or str(candidate.endpoint) == host:
            return candidate
    known = ", ".join(sorted(str(h.address) for h in hosts))
    raise ValueError(f"host={host!r}: not a host of this cluster (known: {known})")


async def check_host(session: AsyncSession, host: Any, timeout: float) -> HostHealth:
    """See :meth:`AsyncSession.check_host`."""
    target = find_host(list(session.driver_session.cluster.metadata.all_hosts()), host)
    address = str(target.address)
    marked_up = target.is_up
    start = perf_counter()
    try:
        result = await session.execute(_HEALTH_QUERY, host=target, timeout=timeout)
    except (asyncio.CancelledError, SessionClosedError):
        raise
    except Exception as exc:
        return HostHealth(address, False, None, None, exc, marked_up)
    latency = perf_counter() - start
    row = result.one()
    version = getattr(row, "release_version", None) if row is not None else None
    return HostHealth(address, True, latency, version, None, marked_up)
