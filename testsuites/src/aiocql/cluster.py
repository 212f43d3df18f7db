"""``AsyncCluster``: builds (or adopts) a driver ``Cluster`` and hands out ``AsyncSession``s.

The driver's connect and shutdown block their thread, so they run in a small executor owned by
this object and are awaited with a deadline. Nothing here binds to an event loop, so one
``AsyncCluster`` serves successive loops (pytest-asyncio function-scoped loops, several
``asyncio.run`` calls).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypedDict, Unpack

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from .blocking import run_blocking
from .errors import RequestTimeout, SessionClosedError
from .ratelimit import RateLimiter
from .retry import IdempotentRetryPolicy
from .session import AsyncSession

__all__ = ["AsyncCluster", "WrapperOptions"]


class WrapperOptions(TypedDict, total=False):
    """aiocql's own settings, shared by ``AsyncCluster(...)`` and ``AsyncCluster.wrap``."""

    default_timeout: float
    connect_timeout: float
    grace: float
    max_in_flight: int
    rate_limiter: RateLimiter | None
    executor_threads: int


def _shutdown_quietly(session: Any) -> None:
    session.shutdown()


class AsyncCluster:
    """``async with AsyncCluster(["10.0.0.1"]) as cluster: session = await cluster.connect()``.

    Defaults (unless ``execution_profiles`` is given): token-aware DC-aware routing
    (``local_dc`` or the contact points' DC; or ``load_balancing_policy``),
    :class:`~aiocql.IdempotentRetryPolicy` (or ``retry_policy``), ``default_timeout`` seconds
    per request, ``max_in_flight`` outstanding requests per session and event loop. Extra
    keyword arguments go to ``cassandra.cluster.Cluster`` unchanged.
    """

    def __init__(
        self,
        contact_points: list[str] | tuple[str, ...] = ("127.0.0.1",),
        *,
        port: int = 9042,
        auth_provider: Any = None,
        ssl_context: Any = None,
        protocol_version: int | None = None,
        local_dc: str | None = None,
        load_balancing_policy: Any = None,
        retry_policy: Any = None,
        consistency_level: int | None = None,
        execution_profiles: dict[Any, Any] | None = None,
        default_timeout: float = 10.0,
        connect_timeout: float = 30.0,
        grace: float = 0.5,
        max_in_flight: int = 1024,
        rate_limiter: RateLimiter | None = None,
        executor_threads: int = 4,
        **cluster_kwargs: Any,
    ) -> None:
        if isinstance(contact_points, str):
            raise TypeError(
                f"contact_points={contact_points!r}: pass a list of addresses, not a string"
            )
        if not contact_points:
            raise ValueError("contact_points=[]: at least one address is required")
        if not default_timeout > 0:
            raise ValueError(f"default_timeout={default_timeout!r}: must be > 0 seconds")
        if execution_profiles is not None and (
            load_balancing_policy or retry_policy or local_dc or consistency_level is not None
        ):
            raise ValueError(
                "execution_profiles: give either execution_profiles or local_dc/"
                "load_balancing_policy/retry_policy/consistency_level, not both"
            )
        if execution_profiles is None:
            profile = ExecutionProfile(
                load_balancing_policy=load_balancing_policy
                or TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                retry_policy=retry_policy or IdempotentRetryPolicy(),
                request_timeout=default_timeout,
            )
            if consistency_level is not None:
                profile.consistency_level = consistency_level
            execution_profiles = {EXEC_PROFILE_DEFAULT: profile}
        kwargs: dict[str, Any] = dict(cluster_kwargs)
        if protocol_version is not None:
            kwargs["protocol_version"] = protocol_version
        cluster = Cluster(
            contact_points=list(contact_points),
            port=port,
            auth_provider=auth_provider,
            ssl_context=ssl_context,
            execution_profiles=execution_profiles,
            **kwargs,
        )
        self._init(
            cluster,
            True,
            default_timeout=default_timeout,
            connect_timeout=connect_timeout,
            grace=grace,
            max_in_flight=max_in_flight,
            rate_limiter=rate_limiter,
            executor_threads=executor_threads,
        )

    def _init(
        self,
        cluster: Any,
        owns_cluster: bool,
        *,
        default_timeout: float = 10.0,
        connect_timeout: float = 30.0,
        grace: float = 0.5,
        max_in_flight: int = 1024,
        rate_limiter: RateLimiter | None = None,
        executor_threads: int = 4,
    ) -> None:
        if not connect_timeout > 0:
            raise ValueError(f"connect_timeout={connect_timeout!r}: must be > 0 seconds")
        self._cluster = cluster
        self._default_timeout = default_timeout
        self._connect_timeout = connect_timeout
        self._grace = grace
        self._max_in_flight = max_in_flight
        self._rate_limiter = rate_limiter
        self._executor = ThreadPoolExecutor(
            max_workers=executor_threads, thread_name_prefix="aiocql"
        )
        self._owns_cluster = owns_cluster
        self._sessions: list[AsyncSession] = []
        self._closed = False

    @classmethod
    def wrap(
        cls, cluster: Any, *, shutdown_on_close: bool = True, **options: Unpack[WrapperOptions]
    ) -> AsyncCluster:
        """Adopt an existing ``cassandra.cluster.Cluster`` (connected or not). ``options`` are
        the wrapper settings of the constructor (``default_timeout``, ``connect_timeout``,
        ``grace``, ``max_in_flight``, ``rate_limiter``, ``executor_threads``)."""
        self = cls.__new__(cls)
        self._init(cluster, shutdown_on_close, **options)
        return self

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
        max_in_flight: int | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> AsyncSession:
        """Open a session (bounded by ``timeout``, default ``connect_timeout``). Raises the
        driver's ``NoHostAvailable`` unchanged when no host accepts a connection."""
        if self._closed:
            raise SessionClosedError("the aiocql cluster is closed")
        limit = self._connect_timeout if timeout is None else timeout
        driver_session = await run_blocking(
            self._executor,
            limit,
            "connect",
            self._cluster.connect,
            keyspace,
            on_late=_shutdown_quietly,
        )
        session = AsyncSession(
            driver_session,
            self._executor,
            default_timeout=self._default_timeout,
            grace=self._grace,
            max_in_flight=self._max_in_flight if max_in_flight is None else max_in_flight,
            rate_limiter=rate_limiter if rate_limiter is not None else self._rate_limiter,
        )
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

    async def close(self, *, timeout: float = 30.0) -> None:
        """Close every session, then shut the driver cluster down (bounded). Idempotent."""
        if self._closed:
            return
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
