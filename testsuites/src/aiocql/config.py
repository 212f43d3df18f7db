"""aiocql's settings as small immutable objects, each default written exactly once.

As httpx does with ``Timeout`` and ``Limits``: ``AsyncCluster``, ``AsyncCluster.wrap``,
``AsyncCluster.connect`` and ``AsyncSession`` take the same few objects instead of repeating a
dozen keyword arguments (and their defaults) in every signature. The objects validate
themselves when built, so a bad value fails where it is written, naming the field.

The keyword arguments that came before these objects (``default_timeout=``,
``connect_timeout=``, ``grace=``, ``max_in_flight=``, ``executor_threads=``,
``rate_limiter=``) are still accepted as aliases; :func:`resolve` folds them in, in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .ratelimit import RateLimiter
from .retry import IdempotentRetryPolicy

__all__ = ["ALIASES", "Limits", "Rate", "Retry", "Settings", "Timeouts", "resolve"]


def _seconds(owner: object, name: str, minimum: float, strict: bool) -> None:
    value = getattr(owner, name)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        rule = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{type(owner).__name__}.{name}={value!r}: must be a number {rule}")


def _integer(owner: object, name: str, minimum: int) -> None:
    value = getattr(owner, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"{type(owner).__name__}.{name}={value!r}: must be an integer >= {minimum}"
        )


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long aiocql waits, in seconds."""

    request: float = 10.0
    """Each request's default timeout, given to the driver's own timer; a call's ``timeout=``
    overrides it."""
    connect: float = 30.0
    """``AsyncCluster.connect`` (the driver connects in a thread; aiocql stops waiting)."""
    grace: float = 0.5
    """How long after a request's timeout aiocql fails it itself (``RequestTimeout``) when the
    driver never answered, so a lost callback cannot hang an await."""
    close: float = 30.0
    """``close()`` of a session or cluster."""

    def __post_init__(self) -> None:
        for name in ("request", "connect", "close"):
            _seconds(self, name, 0, strict=True)
        _seconds(self, "grace", 0, strict=False)


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one process may hold outstanding."""

    max_in_flight: int = 1024
    """Driver requests outstanding per session and event loop; callers beyond it wait (FIFO)
    and give up with ``BackpressureTimeout`` after their request timeout."""
    executor_threads: int = 4
    """Threads of the cluster's executor (connect, prepare, set_keyspace, traces, shutdown)."""

    def __post_init__(self) -> None:
        _integer(self, "max_in_flight", 1)
        _integer(self, "executor_threads", 1)


@dataclass(frozen=True, slots=True)
class Retry:
    """The default execution profile's retry policy: :class:`IdempotentRetryPolicy`."""

    max_retries: int = 1

    def __post_init__(self) -> None:
        _integer(self, "max_retries", 0)

    def policy(self) -> IdempotentRetryPolicy:
        return IdempotentRetryPolicy(self.max_retries)


@dataclass(frozen=True, slots=True)
class Rate:
    """An open-loop request rate: at most ``per_second`` requests a second, in bursts of at
    most ``burst``. Given to a cluster, one limiter is shared by every session it opens."""

    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        _seconds(self, "per_second", 0, strict=True)
        _integer(self, "burst", 1)

    def limiter(self) -> RateLimiter:
        return RateLimiter(self.per_second, self.burst)


@dataclass(frozen=True, slots=True)
class Settings:
    """The wrapper settings one object carries (what ``resolve`` returns)."""

    timeouts: Timeouts = Timeouts()
    limits: Limits = Limits()
    rate_limiter: RateLimiter | None = None


ALIASES: dict[str, tuple[str, str]] = {
    "default_timeout": ("timeouts", "request"),
    "connect_timeout": ("timeouts", "connect"),
    "grace": ("timeouts", "grace"),
    "max_in_flight": ("limits", "max_in_flight"),
    "executor_threads": ("limits", "executor_threads"),
}
"""Keyword arguments from before the config objects -> (config object, its field)."""


def resolve(
    timeouts: Timeouts | None = None,
    limits: Limits | None = None,
    rate: Rate | RateLimiter | None = None,
    base: Settings | None = None,
    **aliases: Any,
) -> Settings:
    """Settings from config objects, old-style keyword aliases and inherited ``base`` settings.

    A setting given both ways (``timeouts=`` and ``default_timeout=``, or ``rate=`` and
    ``rate_limiter=``) is refused rather than silently picking one.
    """
    base = base or Settings()
    configs: dict[str, Any] = {
        "timeouts": timeouts or base.timeouts,
        "limits": limits or base.limits,
    }
    for name, value in aliases.items():
        if name == "rate_limiter":
            if rate is not None and value is not None:
                raise ValueError("rate_limiter: give rate= or rate_limiter=, not both")
            rate = value if value is not None else rate
            continue
        if name not in ALIASES:
            raise TypeError(f"{name}=: not an aiocql setting (known: {', '.join(ALIASES)})")
        if value is None:
            continue
        group, field = ALIASES[name]
        if (timeouts, limits)[group == "limits"] is not None:
            raise ValueError(f"{name}={value!r}: give {group}= or {name}=, not both")
        try:
            configs[group] = dataclasses.replace(configs[group], **{field: value})
        except ValueError as exc:
            raise ValueError(f"{name}={value!r}: {str(exc).partition(': ')[2]}") from None
    if rate is None:
        limiter = base.rate_limiter
    elif isinstance(rate, Rate):
        limiter = rate.limiter()
    elif isinstance(rate, RateLimiter):
        limiter = rate
    else:
        raise TypeError(f"rate={rate!r}: must be an aiocql.Rate, an aiocql.RateLimiter or None")
    return Settings(configs["timeouts"], configs["limits"], limiter)
