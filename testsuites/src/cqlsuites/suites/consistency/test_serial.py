"""Lightweight transactions at SERIAL and LOCAL_SERIAL: applied once, read linearizably."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra.query import SimpleStatement

from .levels import level

pytestmark = pytest.mark.usefixtures("table")


@pytest.mark.parametrize("serial", ["SERIAL", "LOCAL_SERIAL"])
async def test_lwt_at_serial_level(cql: AsyncSession, serial: str) -> None:
    key = 2_000_000 + len(serial)

    def conditional(cql_text: str) -> SimpleStatement:
        return SimpleStatement(
            cql_text,
            consistency_level=level("LOCAL_QUORUM" if serial == "LOCAL_SERIAL" else "QUORUM"),
            serial_consistency_level=level(serial),
        )

    first = (
        await cql.execute(
            conditional("INSERT INTO kv (k, v) VALUES (%s, 'a') IF NOT EXISTS"), (key,)
        )
    ).one()
    again = (
        await cql.execute(
            conditional("INSERT INTO kv (k, v) VALUES (%s, 'b') IF NOT EXISTS"), (key,)
        )
    ).one()
    assert first.applied, f"the first IF NOT EXISTS at {serial} was not applied"
    assert not again.applied, f"a second IF NOT EXISTS at {serial} was applied"
    assert again.v == "a", f"the refused insert did not return the current row: {again}"
    swapped = (
        await cql.execute(conditional("UPDATE kv SET v = 'c' WHERE k = %s IF v = 'a'"), (key,))
    ).one()
    assert swapped.applied, f"compare-and-set from the current value failed at {serial}"
    read = SimpleStatement("SELECT v FROM kv WHERE k = %s", consistency_level=level(serial))
    row = (await cql.execute(read, (key,))).one()
    assert row is not None, f"a {serial} read did not see the row"
    assert row.v == "c", f"a {serial} read returned {row.v!r} after the compare-and-set to 'c'"
