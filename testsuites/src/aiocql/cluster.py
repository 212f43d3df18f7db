"""``AsyncCluster``: builds (or adopts) a driver ``Cluster`` and hands out ``AsyncSession``s.

The driver's connect and shutdown block their thread, so they run in a small executor owned by
this object and are awaited with a deadline. Nothing here binds to an event loop, so one
``AsyncCluster`` serves successive loops (pytest-asyncio function-scoped loops, several
``asyncio.run`` calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from .blocking import run_blocking
from .config import ALIASES, Limits, Rate, Retry, Settings, Timeouts, resolve
from .errors import RequestTimeout, SessionClosedError
from .ratelimit import RateLimiter
from .rows import cached_named_tuple_factory
from .session import AsyncSession

__all__ = ["AsyncCluster"]

RowFactory = Callable[[Any, Any], Any]

# the aliases (see aiocql.config) travel in **cluster_kwargs: take them out before the driver
_ALIAS_NAMES = (*ALIASES, "rate_limiter")


def _shutdown_quietly(session: Any) -> None:
    session.shutdown()


def _aliases(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name) for name in _ALIAS_NAMES if name in kwargs}


class AsyncCluster:
    """``async with AsyncCluster(["10.0.0.1"]) as cluster: session = await cluster.connect()``.

    Wrapper settings are config objects (``timeouts=Timeouts(...)``, ``limits=Limits(...)``,
    ``retry=Retry(...)``, ``rate=Rate(...)``; see :mod:`aiocql.config` for every default).
    Unless ``execution_profiles`` is given, the default profile has token-aware DC-aware
    routing (``local_dc`` or the contact points' DC; or ``load_balancing_policy``),
    :class:`~aiocql.IdempotentRetryPolicy` (``retry``; or any driver ``retry_policy``), the
    request timeout, and rows from :func:`~aiocql.cached_named_tuple_factory` (or
    ``row_factory``, e.g. the driver's ``dict_factory``). Other keyword arguments go to
    ``cassandra.cluster.Cluster`` unchanged.
    """

    def __init__(
        self,
        contact_points: list[str] | tuple[str, ...] = ("127.0.0.1",),
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        retry: Retry | None = None,
        rate: Rate | RateLimiter | None = None,
        row_factory: RowFactory | None = None,
        port: int = 9042,
        auth_provider: Any = None,
        ssl_context: Any = None,
        protocol_version: int | None = None,
        local_dc: str | None = None,
        load_balancing_policy: Any = None,
        retry_policy: Any = None,
        consistency_level: int | None = None,
        execution_profiles: dict[Any, Any] | None = None,
        **cluster_kwargs: Any,
    ) -> None:
        if isinstance(contact_points, str):
            raise TypeError(
                f"contact_points={contact_points!r}: pass a list of addresses, not a string"
            )
        if not contact_points:
            raise ValueError("contact_points=[]: at least one address is required")
        settings = resolve(timeouts, limits, rate, **_aliases(cluster_kwargs))
        if retry is not None and retry_policy is not None:
            raise ValueError("retry_policy: give retry=Retry(...) or retry_policy=, not both")
        profile_options = {
            "local_dc": local_dc,
            "load_balancing_policy": load_balancing_policy,
            "retry": retry,
            "retry_policy": retry_policy,
            "consistency_level": consistency_level,
            "row_factory": row_factory,
        }
        if execution_profiles is not None:
            clashing = [name for name, value in profile_options.items() if value is not None]
            if clashing:
                raise ValueError(
                    f"execution_profiles: give either execution_profiles or "
                    f"{'/'.join(clashing)}, not both (they configure the default profile)"
                )
        else:
            profile = ExecutionProfile(
                load_balancing_policy=load_balancing_policy
                or TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                retry_policy=retry_policy or (retry or Retry()).policy(),
                request_timeout=settings.timeouts.request,
                row_factory=row_factory or cached_named_tuple_factory,
            )
            if consistency_level is not None:
                profile.consistency_level = consistency_level
            execution_profiles = {EXEC_PROFILE_DEFAULT: profile}
        if protocol_version is not None:
            cluster_kwargs["protocol_version"] = protocol_version
        cluster = Cluster(
            contact_points=list(contact_points),
            port=port,
            auth_provider=auth_provider,
            ssl_context=ssl_context,
            execution_profiles=execution_profiles,
            **cluster_kwargs,
        )
        self._init(cluster, True, settings)

    def _init(self, cluster: Any, owns_cluster: bool, settings: Settings) -> None:
        self._cluster = cluster
        self._settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.limits.executor_threads, thread_name_prefix="aiocql"
        )
        self._owns_cluster = owns_cluster
        self._sessions: list[AsyncSession] = []
        self._closed = False

    @classmethod
    def wrap(
        cls,
        cluster: Any,
        *,
        shutdown_on_close: bool = True,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        rate: Rate | RateLimiter | None = None,
        **aliases: Any,
    ) -> AsyncCluster:
        """Adopt an existing ``cassandra.cluster.Cluster`` (connected or not), with the same
        wrapper settings as the constructor; its execution profiles stay as they are."""
        self = cls.__new__(cls)
        self._init(cluster, shutdown_on_close, resolve(timeouts, limits, rate, **aliases))
        return self

    @property
    def settings(self) -> Settings:
        """The wrapper settings sessions of this cluster start from."""
        return self._settings

    # ---- passthroughs ----------------------------------------------------------------------

    @property
    def driver_cluster(self) -> Any:
        return self._cluster

    @property
    def metadata(self) -> Any:
        return self._cluster.metadata

    @property
    def protocol_version(self) -> int:
        version: int = self._cluster.protocol_version
        return version

    @property
    def closed(self) -> bool:
        return self._closed

    def hosts(self) -> list[Any]:
        return list(self._cluster.metadata.all_hosts())

    # ---- lifecycle -------------------------------------------------------------------------

    async def connect(
        self,
        keyspace: str | None = None,
        *,
        timeout: float | None = None,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        rate: Rate | RateLimiter | None = None,
        **aliases: Any,
    ) -> AsyncSession:
        """Open a session (bounded by ``timeout``, default ``Timeouts.connect``). The session
        takes the cluster's settings, except those given here. Raises the driver's
        ``NoHostAvailable`` unchanged when no host accepts a connection."""
        if self._closed:
            raise SessionClosedError("the aiocql cluster is closed")
        settings = resolve(timeouts, limits, rate, base=self._settings, **aliases)
        limit = self._settings.timeouts.connect if timeout is None else timeout
        driver_session = await run_blocking(
            self._executor,
            limit,
            "connect",
            self._cluster.connect,
            keyspace,
            on_late=_shutdown_quietly,
        )
        session = AsyncSession(driver_session, self._executor, settings=settings)
        if self._closed:  # closed while we were connecting
            await session.close()
            raise SessionClosedError("the aiocql cluster is closed")
        self._sessions.append(session)
        session._on_close.append(self._sessions_forget)
        return session

    def _sessions_forget(self, session: AsyncSession) -> None:
        if session in self._sessions:
            self._sessions.remove(session)

    async def wait_for_hosts(
        self, n_up: int, *, dc: str | None = None, timeout: float = 60.0
    ) -> None:
        """Wait until the driver sees at least ``n_up`` hosts up (in ``dc`` if given)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            up = [
                h
                for h in self._cluster.metadata.all_hosts()
                if h.is_up and (dc is None or h.datacenter == dc)
            ]
            if len(up) >= n_up:
                return
            if loop.time() >= deadline:
                raise RequestTimeout(
                    f"only {len(up)} of {n_up} hosts up{f' in {dc}' if dc else ''} "
                    f"after {timeout:g}s"
                )
            await asyncio.sleep(0.1)

    async def close(self, *, timeout: float | None = None) -> None:
        """Close every session, then shut the driver cluster down (bounded by ``timeout``,
        default ``Timeouts.close``). Idempotent."""
        if self._closed:
            return
        if timeout is None:
            timeout = self._settings.timeouts.close
        self._closed = True
        for session in list(self._sessions):
            await session.close(timeout=timeout)
        self._sessions.clear()
        try:
            if self._owns_cluster:
                await run_blocking(
                    self._executor, timeout, "cluster shutdown", self._cluster.shutdown
                )
        finally:
            self._executor.shutdown(wait=False)

    async def __aenter__(self) -> AsyncCluster:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
