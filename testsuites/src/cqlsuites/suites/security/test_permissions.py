"""GRANT and REVOKE are enforced for each permission, and roles inherit their parents' grants."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import pytest
from aiocql import AsyncSession
from cassandra import Unauthorized

from cqlsuites.env import SuiteEnv

from .conftest import DDL_TIMEOUT, Roles, holds_within, login

PERMISSIONS = ["SELECT", "MODIFY", "CREATE", "ALTER", "DROP"]
_serial = itertools.count()


@pytest.fixture(scope="session")
async def secured(cql: AsyncSession, keyspace: str) -> str:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS secured (k int PRIMARY KEY, v int)", timeout=DDL_TIMEOUT
    )
    return f"{keyspace}.secured"


@dataclass
class Attempt:
    """One operation needing exactly one permission, tried as a role."""

    admin: AsyncSession
    keyspace: str
    role: str
    doomed: str | None = None  # the table a DROP attempt may drop, until one succeeds

    async def allowed(self, session: AsyncSession, permission: str) -> bool:
        """Whether ``session`` may do the operation; False when the server says Unauthorized."""
        n = next(_serial)
        ks = self.keyspace
        statement = {
            "SELECT": f"SELECT * FROM {ks}.secured LIMIT 1",
            "MODIFY": f"INSERT INTO {ks}.secured (k, v) VALUES ({n}, {n})",
            "CREATE": f"CREATE TABLE {ks}.made_{self.role}_{n} (k int PRIMARY KEY)",
            "ALTER": f"ALTER TABLE {ks}.secured WITH comment = 'attempt {n}'",
            "DROP": f"DROP TABLE {ks}.{self.doomed or f'doomed_{self.role}_{n}'}",
        }[permission]
        if permission == "DROP" and self.doomed is None:
            self.doomed = f"doomed_{self.role}_{n}"
            await self.admin.execute(
                f"CREATE TABLE {ks}.{self.doomed} (k int PRIMARY KEY)", timeout=DDL_TIMEOUT
            )
        try:
            await session.execute(statement, timeout=DDL_TIMEOUT)
        except Unauthorized:
            return False
        if permission == "DROP":
            self.doomed = None
        return True


async def _grant_cycle(
    cql: AsyncSession,
    session: AsyncSession,
    attempt: Attempt,
    *,
    who: str,
    permission: str,
    not_also: str,
    grant: str,
    revoke: str,
    within: float,
) -> list[str]:
    """What went wrong as role ``who`` (logged in as ``session``) should be denied
    ``permission`` before ``grant``, allowed it (and not ``not_also``) within ``within`` seconds
    after, and denied it again within ``within`` seconds after ``revoke``."""

    async def allowed() -> bool:
        return await attempt.allowed(session, permission)

    async def denied() -> bool:
        return not await allowed()

    if await allowed():
        return [f"{who} could {permission} before {grant}"]
    await cql.execute(grant)
    if not await holds_within(allowed, within):
        return [f"{who} still could not {permission} {within:g}s after {grant}"]
    problems = []
    if await attempt.allowed(session, not_also):
        problems.append(f"{grant} also let {who} {not_also}")
    await cql.execute(revoke)
    if not await holds_within(denied, within):
        problems.append(f"{who} could still {permission} {within:g}s after {revoke}")
    return problems


async def _permission(
    env: SuiteEnv, cql: AsyncSession, keyspace: str, roles: Roles, within: float, permission: str
) -> list[str]:
    """A keyspace permission granted directly, and no other with it."""
    name, password = await roles.create(permission.lower())
    async with login(env, name, password) as session:
        return await _grant_cycle(
            cql,
            session,
            Attempt(cql, keyspace, permission.lower()),
            who=name,
            permission=permission,
            not_also=PERMISSIONS[(PERMISSIONS.index(permission) + 1) % len(PERMISSIONS)],
            grant=f"GRANT {permission} ON KEYSPACE {keyspace} TO {name}",
            revoke=f"REVOKE {permission} ON KEYSPACE {keyspace} FROM {name}",
            within=within,
        )


async def _inheritance(
    env: SuiteEnv, cql: AsyncSession, keyspace: str, roles: Roles, within: float
) -> list[str]:
    """A child role gets its parent's SELECT (only that) while granted the parent."""
    parent, _ = await roles.create("parent", login=False)
    child, password = await roles.create("child")
    await cql.execute(f"GRANT SELECT ON KEYSPACE {keyspace} TO {parent}")
    async with login(env, child, password) as session:
        return await _grant_cycle(
            cql,
            session,
            Attempt(cql, keyspace, "child"),
            who=child,
            permission="SELECT",
            not_also="MODIFY",
            grant=f"GRANT {parent} TO {child}",
            revoke=f"REVOKE {parent} FROM {child}",
            within=within,
        )


@pytest.fixture(scope="session")
async def enforcement(
    suite_env: SuiteEnv,
    cql: AsyncSession,
    keyspace: str,
    secured: str,
    roles: Roles,
    propagation: float,
) -> dict[str, list[str]]:
    """Every scenario at once (each waits seconds on the nodes' caches), by name."""
    args = (suite_env, cql, keyspace, roles, propagation)
    scenarios = {p: _permission(*args, p) for p in PERMISSIONS}
    scenarios["inheritance"] = _inheritance(*args)
    outcomes = await asyncio.gather(*scenarios.values(), return_exceptions=True)
    return {
        name: [f"{type(o).__name__}: {o}"] if isinstance(o, BaseException) else o
        for name, o in zip(scenarios, outcomes, strict=True)
    }


@pytest.mark.parametrize("permission", PERMISSIONS)
def test_grant_and_revoke_are_enforced(enforcement: dict[str, list[str]], permission: str) -> None:
    assert not enforcement[permission], "; ".join(enforcement[permission])


def test_role_inherits_its_parents_permissions(enforcement: dict[str, list[str]]) -> None:
    assert not enforcement["inheritance"], "; ".join(enforcement["inheritance"])


async def test_list_roles_shows_inheritance(cql: AsyncSession, roles: Roles) -> None:
    parent, _ = await roles.create("lparent", login=False)
    child, _ = await roles.create("lchild")
    await cql.execute(f"GRANT {parent} TO {child}")
    listed = {row.role for row in (await cql.execute(f"LIST ROLES OF {child}")).all()}
    assert listed == {parent, child}, f"LIST ROLES OF {child} gave {sorted(listed)}"
    permissions = (await cql.execute(f"LIST ALL PERMISSIONS OF {child}")).all()
    assert permissions == [], f"{child} has permissions it was never granted: {permissions}"
