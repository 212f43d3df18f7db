"""Only the right credentials get a session."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import Unauthorized
from cassandra.cluster import NoHostAvailable
from cassandra.protocol import OverloadedErrorMessage

from cqlsuites.env import SuiteEnv

from .conftest import DDL_TIMEOUT, Roles, auth_failure, eventually, login


async def _refused(env: SuiteEnv, username: str | None, password: str | None) -> str:
    """The authentication error connecting as ``username``; fails the test if it connects."""
    with pytest.raises(NoHostAvailable) as caught:
        async with login(env, username, password):
            pass
    failure = auth_failure(caught.value)
    assert failure is not None, f"connecting as {username!r} failed, not on auth: {caught.value!r}"
    return str(failure)


async def test_run_credentials_log_in(suite_env: SuiteEnv, credentials: tuple[str, str]) -> None:
    async with login(suite_env, *credentials) as session:
        row = (await session.execute("SELECT release_version FROM system.local")).one()
        assert row is not None


async def test_wrong_password_is_rejected(
    suite_env: SuiteEnv, credentials: tuple[str, str]
) -> None:
    message = await _refused(suite_env, credentials[0], credentials[1] + "-wrong")
    assert "Provided username" in message or "password" in message.lower(), message


async def test_unknown_user_is_rejected(suite_env: SuiteEnv, roles: Roles) -> None:
    await _refused(suite_env, f"{roles.prefix}_nobody", "secret")


async def test_anonymous_connection_is_refused(
    suite_env: SuiteEnv, credentials: tuple[str, str]
) -> None:
    # Without an auth provider the driver cannot answer the server's challenge: refused.
    await _refused(suite_env, None, None)


async def test_role_without_login_cannot_connect(suite_env: SuiteEnv, roles: Roles) -> None:
    name, password = await roles.create("nologin", login=False)
    message = await _refused(suite_env, name, password)
    assert "not permitted to log in" in message or name in message, message


async def test_password_change_takes_effect(
    suite_env: SuiteEnv, cql: AsyncSession, roles: Roles, propagation: float
) -> None:
    name, old = await roles.create("rotated")
    async with login(suite_env, name, old):
        pass
    new = old[::-1]

    async def changed() -> bool:
        # Cassandra 5 refuses a second password change within 5 s of the last (Overloaded).
        try:
            await cql.execute(f"ALTER ROLE {name} WITH PASSWORD = %s", (new,), timeout=DDL_TIMEOUT)
        except OverloadedErrorMessage:
            return False
        return True

    await eventually(changed, within=propagation, what=f"ALTER ROLE {name} WITH PASSWORD")

    async def old_refused() -> bool:
        try:
            async with login(suite_env, name, old):
                return False
        except Exception as exc:
            return auth_failure(exc) is not None

    await eventually(old_refused, within=propagation, what=f"the old password of {name} refused")
    async with login(suite_env, name, new) as session:
        assert (await session.execute("SELECT key FROM system.local")).one() is not None


async def test_non_superuser_cannot_create_roles(suite_env: SuiteEnv, roles: Roles) -> None:
    name, password = await roles.create("plain")
    async with login(suite_env, name, password) as session:
        with pytest.raises(Unauthorized):
            await session.execute(f"CREATE ROLE {roles.prefix}_sneaky", timeout=DDL_TIMEOUT)
