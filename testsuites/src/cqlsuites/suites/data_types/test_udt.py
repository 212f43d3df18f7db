"""User-defined types: nested, holding collections, frozen and not, through both statement kinds."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession

from .cases import Address, Person, Point, plain

WHO = Person(
    name="ada",
    home=Address(street="1 Main St", zip=12345, tags={"home", "primary"}),
    phones={"work": "+44 20 0000", "cell": "+44 7700 000000"},
    previous=[Address(street="old st", zip=1, tags=set()), Address(street="older", zip=2)],
)


@pytest.mark.parametrize("mode", ["simple", "prepared"])
async def test_nested_udt_with_collections_round_trips(
    cql: AsyncSession, schema: str, mode: str
) -> None:
    key = f"udt:{mode}"
    if mode == "simple":
        await cql.execute("INSERT INTO udts (k, who) VALUES (%s, %s)", (key, WHO))
    else:
        insert = await cql.prepare("INSERT INTO udts (k, who) VALUES (?, ?)")
        await cql.execute(insert, (key, WHO))
    row = (await cql.execute("SELECT who FROM udts WHERE k = %s", (key,))).one()
    assert row is not None, "the row holding a UDT is missing"
    assert isinstance(row.who, Person), f"the UDT came back as {type(row.who).__name__}"
    # frozen all the way down: the empty set stays an empty set, the missing one stays null
    assert plain(row.who) == plain(WHO), f"person via {mode}: read {row.who!r}"


async def test_missing_udt_fields_are_null(cql: AsyncSession, schema: str) -> None:
    await cql.execute("INSERT INTO udts (k, who) VALUES ('udt:partial', {name: 'bo'})")
    row = (await cql.execute("SELECT who FROM udts WHERE k = 'udt:partial'")).one()
    assert row is not None
    assert plain(row.who) == {"name": "bo", "home": None, "phones": None, "previous": None}


async def test_non_frozen_udt_field_update(cql: AsyncSession, schema: str) -> None:
    insert = await cql.prepare("INSERT INTO udts (k, at) VALUES (?, ?)")
    await cql.execute(insert, ("udt:point", Point(x=1, y=2)))
    await cql.execute("UPDATE udts SET at.y = %s WHERE k = 'udt:point'", (20,))
    row = (await cql.execute("SELECT at FROM udts WHERE k = 'udt:point'")).one()
    assert row is not None
    assert (row.at.x, row.at.y) == (1, 20), f"updating one field of a UDT gave {row.at!r}"
