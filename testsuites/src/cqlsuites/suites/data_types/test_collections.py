"""Lists, sets, maps (nested, frozen and not) and tuples: round trips and in-place operations."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.util import Date

from .cases import plain
from .conftest import COLLECTIONS

# (value written, CQL literal for a simple statement where the driver's encoder has none: it
# encodes a Python tuple as a list literal, which the server refuses for a tuple column)
VALUES: dict[str, tuple[Any, str | None]] = {
    "l_int": ([3, 1, 2, 1], None),
    "l_uuid": ([uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)], None),
    "s_text": ({"b", "a", "c"}, None),
    "s_inet": ({"10.0.0.1", "::1"}, None),
    "m_text_int": ({"a": 1, "b": -2}, None),
    "m_int_date": ({1: Date(0), 2: Date(19000)}, None),
    "nested": ({"x": [1, 2], "y": [3]}, None),
    "f_list": ([5, 4, 5], None),
    "f_set": ({"z", "y"}, None),
    "f_map": ({"pi": 3.25, "e": 2.5}, None),
    "tup": ((1, "one", 1.5), "(1, 'one', 1.5)"),
    "nested_tup": ((2, ["a", "b"], {"k": 1}), "(2, ['a', 'b'], {'k': 1})"),
}
assert set(VALUES) == set(COLLECTIONS), "every collection column needs a test value"


async def _get(cql: AsyncSession, col: str, key: str) -> Any:
    row = (await cql.execute(f"SELECT {col} AS v FROM colls WHERE k = %s", (key,))).one()
    assert row is not None, f"row {key!r} is missing"
    return row.v


@pytest.mark.parametrize("mode", ["simple", "prepared"])
@pytest.mark.parametrize("col", list(VALUES))
async def test_collection_round_trips(cql: AsyncSession, schema: str, col: str, mode: str) -> None:
    value, literal = VALUES[col]
    key = f"{col}:{mode}"
    if mode == "prepared":
        insert = await cql.prepare(f"INSERT INTO colls (k, {col}) VALUES (?, ?)")
        await cql.execute(insert, (key, value))
    elif literal is not None:
        await cql.execute(f"INSERT INTO colls (k, {col}) VALUES (%s, {literal})", (key,))
    else:
        await cql.execute(f"INSERT INTO colls (k, {col}) VALUES (%s, %s)", (key, value))
    got = await _get(cql, col, key)
    assert plain(got) == plain(value), (
        f"{COLLECTIONS[col]} via {mode}: wrote {value!r}, read {got!r}"
    )


async def test_list_append_prepend_remove(cql: AsyncSession, schema: str) -> None:
    await cql.execute("INSERT INTO colls (k, l_int) VALUES ('ops:list', [2, 3])")
    await cql.execute("UPDATE colls SET l_int = l_int + %s WHERE k = 'ops:list'", ([4, 3],))
    await cql.execute("UPDATE colls SET l_int = %s + l_int WHERE k = 'ops:list'", ([1],))
    assert await _get(cql, "l_int", "ops:list") == [1, 2, 3, 4, 3], "append/prepend misplaced"
    await cql.execute("UPDATE colls SET l_int = l_int - [3] WHERE k = 'ops:list'")
    assert await _get(cql, "l_int", "ops:list") == [1, 2, 4], "removing 3 left other elements"


async def test_list_and_map_element_update(cql: AsyncSession, schema: str) -> None:
    await cql.execute(
        "INSERT INTO colls (k, l_int, m_text_int) "
        "VALUES ('ops:elem', [10, 20, 30], {'a': 1, 'b': 2})"
    )
    set_index = await cql.prepare("UPDATE colls SET l_int[?] = ? WHERE k = 'ops:elem'")
    await cql.execute(set_index, (1, 21))
    await cql.execute(
        "UPDATE colls SET m_text_int['c'] = 3, m_text_int['a'] = 0 WHERE k = 'ops:elem'"
    )
    await cql.execute("DELETE m_text_int['b'], l_int[0] FROM colls WHERE k = 'ops:elem'")
    assert await _get(cql, "l_int", "ops:elem") == [21, 30]
    assert plain(await _get(cql, "m_text_int", "ops:elem")) == {"a": 0, "c": 3}


async def test_set_add_remove(cql: AsyncSession, schema: str) -> None:
    await cql.execute("INSERT INTO colls (k, s_text) VALUES ('ops:set', {'a'})")
    await cql.execute("UPDATE colls SET s_text = s_text + %s WHERE k = 'ops:set'", ({"b", "a"},))
    await cql.execute("UPDATE colls SET s_text = s_text - {'a'} WHERE k = 'ops:set'")
    assert plain(await _get(cql, "s_text", "ops:set")) == {"b"}


async def test_frozen_collection_is_replaced_whole(cql: AsyncSession, schema: str) -> None:
    await cql.execute("INSERT INTO colls (k, f_list, l_int) VALUES ('frozen', [1], [1])")
    with pytest.raises(InvalidRequest, match="frozen"):
        await cql.execute("UPDATE colls SET f_list = f_list + [2] WHERE k = 'frozen'")
    await cql.execute("UPDATE colls SET l_int = l_int + [2] WHERE k = 'frozen'")
    await cql.execute("UPDATE colls SET f_list = [7, 8] WHERE k = 'frozen'")
    assert await _get(cql, "f_list", "frozen") == [7, 8], "a frozen list was not replaced whole"
    assert await _get(cql, "l_int", "frozen") == [1, 2], "a non-frozen list was not appended to"


async def test_empty_collection_is_null_unless_frozen(cql: AsyncSession, schema: str) -> None:
    insert = await cql.prepare(
        "INSERT INTO colls (k, l_int, f_list, m_text_int) VALUES (?, ?, ?, ?)"
    )
    await cql.execute(insert, ("empty", [], [], {}))
    row = (await cql.execute("SELECT l_int, f_list, m_text_int FROM colls WHERE k = 'empty'")).one()
    assert row is not None
    assert row.l_int is None, f"an empty non-frozen list read back as {row.l_int!r}, not null"
    assert row.m_text_int is None, f"an empty non-frozen map read back as {row.m_text_int!r}"
    assert row.f_list == [], f"an empty frozen list read back as {row.f_list!r}, not []"


async def test_null_collections_and_tuples(cql: AsyncSession, schema: str) -> None:
    cols = list(VALUES)
    insert = await cql.prepare(
        f"INSERT INTO colls (k, {', '.join(cols)}) VALUES (?, {', '.join('?' * len(cols))})"
    )
    await cql.execute(insert, ("nulls", *([None] * len(cols))))
    row = (await cql.execute(f"SELECT {', '.join(cols)} FROM colls WHERE k = 'nulls'")).one()
    assert row is not None
    not_null = {c: getattr(row, c) for c in cols if getattr(row, c) is not None}
    assert not not_null, f"columns bound to null read back as values: {not_null}"


async def test_largest_collections(
    cql: AsyncSession, schema: str, suite_params: Mapping[str, Any]
) -> None:
    n: int = suite_params["collectionElements"]
    big_list = list(range(n))
    big_set = {f"e{i}" for i in range(n)}
    big_map = {f"k{i}": i for i in range(n)}
    insert = await cql.prepare(
        "INSERT INTO colls (k, l_int, s_text, m_text_int) VALUES (?, ?, ?, ?)"
    )
    # idempotent: a replica slow to apply a large write gets a second chance (aiocql retries)
    await cql.execute(insert, ("big", big_list, big_set, big_map), timeout=60, idempotent=True)
    row = (
        await cql.execute("SELECT l_int, s_text, m_text_int FROM colls WHERE k = 'big'", timeout=60)
    ).one()
    assert row is not None, f"the row with {n}-element collections is missing"
    assert row.l_int == big_list, f"list<int> of {n}: read {len(row.l_int or [])} elements"
    assert plain(row.s_text) == big_set, f"set<text> of {n}: read {len(row.s_text or ())}"
    assert plain(row.m_text_int) == big_map, (
        f"map<text, int> of {n}: read {len(row.m_text_int or {})}"
    )
