"""aiocql: a correct, nearly free asyncio wrapper around cassandra-driver.

Driver exceptions pass through unchanged from every entry point; aiocql's own failures derive
from :class:`AiocqlError`. See ``testsuites/README.md`` for the usage guide.
"""

from .cluster import AsyncCluster
from .config import Limits, Rate, Retry, Settings, Timeouts
from .errors import (
    AiocqlError,
    BackpressureTimeout,
    RequestTimeout,
    ResultTooLarge,
    SessionClosedError,
    StreamBusyError,
    StreamClosedError,
    error_kind,
)
from .listeners import RequestEvent, RequestKind, RequestListener, RequestOutcome
from .ratelimit import RateLimiter
from .result import AsyncResult, PageInfo
from .retry import IdempotentRetryPolicy
from .rows import cached_named_tuple_factory
from .session import AsyncSession, HostHealth
from .stats import LatencySnapshot, SessionStats
from .stream import AsyncRowStream

__all__ = [
    "AiocqlError",
    "AsyncCluster",
    "AsyncResult",
    "AsyncRowStream",
    "AsyncSession",
    "BackpressureTimeout",
    "HostHealth",
    "IdempotentRetryPolicy",
    "LatencySnapshot",
    "Limits",
    "PageInfo",
    "Rate",
    "RateLimiter",
    "RequestEvent",
    "RequestKind",
    "RequestListener",
    "RequestOutcome",
    "RequestTimeout",
    "ResultTooLarge",
    "Retry",
    "SessionClosedError",
    "SessionStats",
    "Settings",
    "StreamBusyError",
    "StreamClosedError",
    "Timeouts",
    "cached_named_tuple_factory",
    "error_kind",
]
