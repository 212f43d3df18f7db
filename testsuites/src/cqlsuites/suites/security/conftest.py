"""Roles made for the suite (dropped at the end) and sessions logged in as them."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable

from cqlsuites import connect
from cqlsuites.env import SuiteEnv

DDL_TIMEOUT = 60.0
CONNECT_TIMEOUT = 20.0
CONNECT_ATTEMPTS = 3


@pytest.fixture(scope="session")
def credentials(suite_env: SuiteEnv) -> tuple[str, str]:
    """The run's superuser; without one there is nothing to test, and every test says so."""
    if suite_env.username is None:
        pytest.fail(
            "security needs a cluster with authentication: the run gives no credentials "
            "(CQLTEST_USERNAME/CQLTEST_PASSWORD); set cluster.security.authentication: true"
        )
    return suite_env.username, suite_env.password or ""


def auth_failure(exc: BaseException) -> BaseException | None:
    """The AuthenticationFailed inside a connection error, if that is what it was."""
    errors: list[object] = [exc]
    # per-host errors by host; a bare list of addresses when no host even answered
    if isinstance(exc, NoHostAvailable) and isinstance(exc.errors, Mapping):
        errors += list(exc.errors.values())
    return next((e for e in errors if isinstance(e, AuthenticationFailed)), None)


@asynccontextmanager
async def login(
    env: SuiteEnv, username: str | None, password: str | None, **options: Any
) -> AsyncIterator[AsyncSession]:
    """A session as ``username`` (uninstrumented: its refusals are expected, not errors)."""
    as_user = dataclasses.replace(env, username=username, password=password)
    kwargs = {**connect.cluster_options(as_user), **options}
    if username is None:
        kwargs.pop("auth_provider", None)
    # Cassandra 4.0 and later speak v5: skip the driver's downgrade from v6 on every login.
    kwargs.setdefault("protocol_version", 5)
    for attempt in range(CONNECT_ATTEMPTS):
        async with AsyncCluster(
            list(env.require_contact_points()), connect_timeout=CONNECT_TIMEOUT, **kwargs
        ) as cluster:
            try:
                session = await cluster.connect()
            except NoHostAvailable as exc:
                # A busy node may drop a connection; a refused login is never retried.
                if auth_failure(exc) is not None or attempt == CONNECT_ATTEMPTS - 1:
                    raise
                continue
            yield session
            return


async def holds_within(check: Callable[[], Awaitable[bool]], within: float) -> bool:
    """Poll ``check`` until it holds (True) or ``within`` seconds pass (False)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.5)
    return True


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``within`` seconds."""
    if not await holds_within(check, within):
        pytest.fail(f"{what} was still not true after {within:g}s")


@dataclasses.dataclass
class Roles:
    """Creates LOGIN roles with random passwords; drops every one of them at the end."""

    admin: AsyncSession
    prefix: str
    made: list[str] = dataclasses.field(default_factory=list)

    async def create(self, suffix: str, *, login: bool = True) -> tuple[str, str]:
        name = f"{self.prefix}_{suffix}"
        password = secrets.token_hex(12)
        await self.admin.execute(f"DROP ROLE IF EXISTS {name}", timeout=DDL_TIMEOUT)
        await self.admin.execute(
            f"CREATE ROLE {name} WITH LOGIN = {str(login).lower()} AND PASSWORD = %s",
            (password,),
            timeout=DDL_TIMEOUT,
        )
        self.made.append(name)
        return name, password


@pytest.fixture(scope="session")
async def roles(
    cql: AsyncSession, keyspace: str, credentials: tuple[str, str]
) -> AsyncIterator[Roles]:
    made = Roles(cql, f"{keyspace[:32]}_r")
    yield made
    await asyncio.gather(
        *(cql.execute(f"DROP ROLE IF EXISTS {name}", timeout=DDL_TIMEOUT) for name in made.made)
    )


@pytest.fixture(scope="session")
def propagation(suite_params: Mapping[str, Any]) -> float:
    seconds: float = suite_params["propagation"]
    return seconds
