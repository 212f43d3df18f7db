"""The values each CQL type is tested with, and how a read-back value is compared.

Kept apart from the tests so that one table drives the schema (a column per type) and every
parametrised test. Values are chosen to be exactly representable (``float`` is 32-bit).
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cassandra.util import Date, Duration, SortedSet, Time


@dataclass(frozen=True)
class Case:
    """A CQL type: its column type, everyday values and the extremes it must also carry."""

    cql: str
    values: tuple[Any, ...]
    boundaries: tuple[Any, ...] = ()
    # What the server does with empty bytes: "stored" (a value distinct from null), "rejected"
    # (the types added in Cassandra 2.2+ refuse them), "untestable" (no blobAs<type> function).
    empty: str = "stored"
    # The driver's simple-statement encoder rounds these boundaries (it goes through ``float``
    # for decimals), so a simple statement carries them as CQL literals the server parses.
    boundaries_as_literals: bool = False


SCALARS: dict[str, Case] = {
    "ascii": Case("ascii", ("hello", "~!@#$%^&*()_+{}|:<>?")),
    "bigint": Case("bigint", (42, -7), (-(2**63), 2**63 - 1)),
    "blob": Case("blob", (b"\x00\x01\xfe\xff", bytes(range(256)))),
    "boolean": Case("boolean", (True, False)),
    "date": Case(
        "date",
        (Date(datetime.date(2024, 2, 29)),),
        (Date(-(2**31)), Date(2**31 - 1), Date(0)),
        empty="rejected",
    ),
    "decimal": Case(
        "decimal",
        (Decimal("3.25"), Decimal("-0.5")),
        (Decimal("123456789012345678901234567890.123456789"), Decimal("1.2300"), Decimal("-1E-30")),
        boundaries_as_literals=True,
    ),
    "double": Case(
        "double",
        (1.5, -2.25e-10),
        (math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308),
    ),
    "duration": Case(
        "duration",
        (Duration(1, 2, 3_000_000_000), Duration(-1, -2, -3)),
        empty="untestable",
    ),
    "float": Case(
        "float",
        (1.5, -0.25),
        (math.nan, math.inf, -math.inf, 3.4028234663852886e38, 1.401298464324817e-45),
    ),
    "inet": Case(
        "inet",
        ("192.168.0.1", "2001:db8::8a2e:370:7334"),
        ("0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ),
    "int": Case("int", (7, -7), (-(2**31), 2**31 - 1)),
    "smallint": Case("smallint", (7, -7), (-(2**15), 2**15 - 1), empty="rejected"),
    "text": Case("text", ("héllo wörld ✓ 日本語", "a'quote")),
    "time": Case(
        "time",
        (Time(datetime.time(13, 45, 30, 123456)),),
        (Time(0), Time(86_399_999_999_999)),
        empty="rejected",
    ),
    "timestamp": Case(
        "timestamp",
        (datetime.datetime(2024, 2, 29, 12, 30, 45, 123000),),
        (datetime.datetime(1, 1, 1), datetime.datetime(9999, 12, 31, 23, 59, 59, 999000)),
    ),
    "timeuuid": Case("timeuuid", (uuid.UUID("50554d6e-29bb-11e5-b345-feff819cdc9f"),)),
    "tinyint": Case("tinyint", (7, -7), (-128, 127), empty="rejected"),
    "uuid": Case("uuid", (uuid.UUID("2ae9e3f1-8a3c-4c3b-9a71-0c6a7d5b9f10"),)),
    "varchar": Case("varchar", ("plain varchar",)),
    "varint": Case("varint", (12345, -1), (2**200, -(2**200))),
    "vector": Case("vector<float, 3>", ([1.0, 2.5, -3.0],), empty="untestable"),
}


def column(name: str) -> str:
    return f"v_{name}"


def same(name: str, got: Any, want: Any) -> bool:
    """Whether ``got`` read back is ``want`` written, exactly, for type ``name``."""
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if name == "decimal":
        # Decimal("1.23") == Decimal("1.2300"); the scale is part of the value in CQL.
        return isinstance(got, Decimal) and got.as_tuple() == want.as_tuple()
    if name == "timestamp":
        # The driver builds the datetime through float seconds (off by µs far from 1970); the
        # server stores whole milliseconds, so a wrong value is at least 1 ms away.
        return isinstance(got, datetime.datetime) and abs(got - want) < datetime.timedelta(
            milliseconds=1
        )
    return bool(got == want)


@dataclass
class Address:
    """The ``address`` UDT as the driver maps it (registered for the suite keyspace)."""

    street: str | None = None
    zip: int | None = None
    tags: Any = None


@dataclass
class Person:
    """The ``person`` UDT: a nested UDT, a map and a list of UDTs."""

    name: str | None = None
    home: Address | None = None
    phones: Any = None
    previous: Any = None


@dataclass
class Point:
    """The non-frozen ``point`` UDT, whose fields can be updated one at a time."""

    x: int | None = None
    y: int | None = None


def plain(value: Any) -> Any:
    """The driver's collection types (SortedSet, OrderedMapSerializedKey) as built-ins, deeply,
    so a read-back value compares equal to the Python value written."""
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset, SortedSet)):
        return {plain(v) for v in value}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, (Address, Person, Point)):
        return {k: plain(v) for k, v in vars(value).items()}
    return value
