"""UNSET values leave columns alone where NULL deletes them; large values bind intact."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.query import UNSET_VALUE

pytestmark = pytest.mark.usefixtures("tables")


async def test_unset_leaves_the_column_untouched(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, a, b) VALUES (10, 1, 'x') USING TIMESTAMP 1000")
    insert = await cql.prepare("INSERT INTO kv (k, a, b) VALUES (?, ?, ?)")
    await cql.execute(insert, (10, UNSET_VALUE, "y"))
    row = (await cql.execute("SELECT a, writetime(a) AS wa, b FROM kv WHERE k = 10")).one()
    assert row.b == "y"
    assert row.a == 1, f"an UNSET value changed column a to {row.a!r}"
    assert row.wa == 1000, f"an UNSET value rewrote column a (writetime {row.wa})"


async def test_null_deletes_the_column(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, a, b) VALUES (11, 1, 'x')")
    insert = await cql.prepare("INSERT INTO kv (k, a, b) VALUES (?, ?, ?)")
    await cql.execute(insert, (11, None, "y"))
    row = (await cql.execute("SELECT a, b FROM kv WHERE k = 11")).one()
    assert (row.a, row.b) == (None, "y"), f"binding None did not delete column a: {row}"


async def test_unset_named_value_is_left_out(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, a, b) VALUES (12, 5, 'kept')")
    update = await cql.prepare("UPDATE kv SET a = :a, b = :b WHERE k = :k")
    await cql.execute(update, {"k": 12, "a": 6})
    row = (await cql.execute("SELECT a, b FROM kv WHERE k = 12")).one()
    assert (row.a, row.b) == (6, "kept"), f"a named value left out was not treated as unset: {row}"


async def test_unset_in_a_where_clause_is_refused(cql: AsyncSession) -> None:
    select = await cql.prepare("SELECT v FROM wide WHERE p = ? AND c = ?")
    with pytest.raises(InvalidRequest, match=r"(?i)unset"):
        await cql.execute(select, (1, UNSET_VALUE))


@pytest.mark.parametrize("column", ["data", "body"])
async def test_large_value_round_trips(
    cql: AsyncSession, suite_params: Mapping[str, Any], column: str
) -> None:
    size = int(suite_params["largeValueBytes"])
    value: bytes | str = os.urandom(size) if column == "data" else os.urandom(size // 2).hex()
    key = 20 if column == "data" else 21
    insert = await cql.prepare(f"INSERT INTO big (k, {column}) VALUES (?, ?)")
    await cql.execute(insert, (key, value), timeout=30)
    select = await cql.prepare(f"SELECT {column} FROM big WHERE k = ?")
    got = getattr((await cql.execute(select, (key,), timeout=30)).one(), column)
    assert len(got) == len(value), f"{column}: wrote {len(value)}, read back {len(got)}"
    intact = got == value  # compared apart: a failing assert would print a megabyte diff
    assert intact, f"{column} came back with the right length but different content"
