"""Server errors reach the caller as the driver's own exceptions, and the session carries on."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.protocol import SyntaxException


async def test_syntax_error_raises_syntax_exception(cql: AsyncSession) -> None:
    with pytest.raises(SyntaxException):
        await cql.execute("SELEC * FROM system.local")


async def test_unknown_table_raises_invalid_request(cql: AsyncSession) -> None:
    with pytest.raises(InvalidRequest, match="no_such_table"):
        await cql.execute("SELECT * FROM no_such_table")


async def test_wrong_value_type_raises_invalid_request(cql: AsyncSession) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS typed (k int PRIMARY KEY, n int)", timeout=60)
    with pytest.raises(InvalidRequest):
        await cql.execute("INSERT INTO typed (k, n) VALUES (1, 'not a number')")


async def test_error_while_streaming_is_the_same_exception(cql: AsyncSession) -> None:
    async def drain() -> None:
        async with cql.stream("SELECT * FROM no_such_table") as rows:
            async for _ in rows:
                pass

    with pytest.raises(InvalidRequest, match="no_such_table"):
        await drain()


async def test_session_survives_errors(cql: AsyncSession) -> None:
    errors_before = cql.stats().errors
    for bad in ("SELEC 1", "SELECT * FROM no_such_table", "SELECT nope FROM system.local"):
        with pytest.raises((SyntaxException, InvalidRequest)):
            await cql.execute(bad)
    row = (await cql.execute("SELECT release_version FROM system.local")).one()
    assert row is not None, "the session stopped answering after errors"
    assert cql.stats().errors - errors_before == 3, "the session did not count the 3 errors"
    assert cql.in_flight == 0, f"{cql.in_flight} request slot(s) leaked by failed requests"
