"""Every scalar type: everyday values, extremes, null and empty bytes, simple and prepared."""

from __future__ import annotations

from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest

from .cases import SCALARS, column, same

MODES = ("simple", "prepared")
WITH_BOUNDARIES = [name for name, case in SCALARS.items() if case.boundaries]
WITH_EMPTY = [name for name, case in SCALARS.items() if case.empty == "stored"]
REJECT_EMPTY = [name for name, case in SCALARS.items() if case.empty == "rejected"]
# For these an empty byte string is an ordinary value, not the "empty" of a numeric type.
_STRINGS = {"ascii", "blob", "text", "varchar"}


async def _write(
    cql: AsyncSession, mode: str, name: str, key: str, value: Any, literal: bool
) -> None:
    col = column(name)
    if literal:
        await cql.execute(f"INSERT INTO scalars (k, {col}) VALUES (%s, {value})", (key,))
    elif mode == "simple":
        await cql.execute(f"INSERT INTO scalars (k, {col}) VALUES (%s, %s)", (key, value))
    else:
        insert = await cql.prepare(f"INSERT INTO scalars (k, {col}) VALUES (?, ?)")
        await cql.execute(insert, (key, value))


async def _read(cql: AsyncSession, mode: str, name: str, key: str) -> Any:
    query = f"SELECT {column(name)} AS v FROM scalars WHERE k = "
    if mode == "simple":
        row = (await cql.execute(query + "%s", (key,))).one()
    else:
        row = (await cql.execute(await cql.prepare(query + "?"), (key,))).one()
    assert row is not None, f"{name}: row {key!r} was written but is not readable"
    return row.v


async def _round_trip(
    cql: AsyncSession, mode: str, name: str, values: tuple[Any, ...], *, literal: bool = False
) -> None:
    for i, value in enumerate(values):
        key = f"{name}:{mode}:{'b' if literal else 'v'}{i}"
        written = str(value) if literal else value
        await _write(cql, mode, name, key, written, literal)
        got = await _read(cql, mode, name, key)
        assert same(name, got, value), f"{name} via {mode}: wrote {value!r}, read {got!r}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SCALARS))
async def test_value_round_trips(cql: AsyncSession, schema: str, name: str, mode: str) -> None:
    await _round_trip(cql, mode, name, SCALARS[name].values)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", WITH_BOUNDARIES)
async def test_boundaries_round_trip(cql: AsyncSession, schema: str, name: str, mode: str) -> None:
    case = SCALARS[name]
    literal = mode == "simple" and case.boundaries_as_literals
    await _round_trip(cql, mode, f"{name}", case.boundaries, literal=literal)


@pytest.mark.parametrize("name", list(SCALARS))
async def test_null_reads_back_as_none(cql: AsyncSession, schema: str, name: str) -> None:
    await cql.execute("INSERT INTO scalars (k) VALUES (%s)", (f"{name}:unset",))
    await _write(cql, "prepared", name, f"{name}:bound-null", None, literal=False)
    for key in (f"{name}:unset", f"{name}:bound-null"):
        got = await _read(cql, "prepared", name, key)
        assert got is None, f"{name}: a null written as {key.split(':')[1]} read back as {got!r}"


@pytest.mark.parametrize("name", WITH_EMPTY)
async def test_empty_value_is_not_null(cql: AsyncSession, schema: str, name: str) -> None:
    cql_type, col = SCALARS[name].cql, column(name)
    key = f"{name}:empty"
    empty, raw = (
        ("0x", col) if name == "blob" else (f"blobAs{cql_type}(0x)", f"{cql_type}AsBlob({col})")
    )
    await cql.execute(f"INSERT INTO scalars (k, {col}) VALUES (%s, {empty})", (key,))
    row = (
        await cql.execute(f"SELECT {col} AS v, {raw} AS raw FROM scalars WHERE k = %s", (key,))
    ).one()
    assert row is not None, f"{name}: the row with an empty value is missing"
    assert row.raw == b"", f"{name}: an empty value was stored as {row.raw!r}, not empty bytes"
    if name in _STRINGS:
        assert row.v in ("", b""), f"{name}: an empty value read back as {row.v!r}"


@pytest.mark.parametrize("name", REJECT_EMPTY)
async def test_empty_value_is_rejected(cql: AsyncSession, schema: str, name: str) -> None:
    cql_type = SCALARS[name].cql
    with pytest.raises(InvalidRequest, match="not a valid binary representation"):
        await cql.execute(
            f"INSERT INTO scalars (k, {column(name)}) VALUES ('{name}:empty', blobAs{cql_type}(0x))"
        )
