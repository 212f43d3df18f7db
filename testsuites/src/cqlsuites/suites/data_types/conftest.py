"""The suite's schema, created once: a column per scalar type, collections, tuples and UDTs.

One wide table per family instead of a table per type keeps the DDL (and schema agreement
waits, seconds each on a busy cluster) to a handful. Every request runs at the ``consistency``
param, so reads see earlier writes on any topology.
"""

from __future__ import annotations

import pytest_asyncio
from aiocql import AsyncCluster, AsyncSession

from .cases import SCALARS, Address, Person, Point, column

DDL = 60.0

COLLECTIONS: dict[str, str] = {
    "l_int": "list<int>",
    "l_uuid": "list<uuid>",
    "s_text": "set<text>",
    "s_inet": "set<inet>",
    "m_text_int": "map<text, int>",
    "m_int_date": "map<int, date>",
    "nested": "map<text, frozen<list<int>>>",
    "f_list": "frozen<list<int>>",
    "f_set": "frozen<set<text>>",
    "f_map": "frozen<map<text, double>>",
    "tup": "tuple<int, text, double>",
    "nested_tup": "tuple<int, frozen<list<text>>, frozen<map<text, int>>>",
}

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS scalars (k text PRIMARY KEY, "
    + ", ".join(f"{column(name)} {case.cql}" for name, case in SCALARS.items())
    + ")",
    "CREATE TABLE IF NOT EXISTS colls (k text PRIMARY KEY, "
    + ", ".join(f"{name} {cql}" for name, cql in COLLECTIONS.items())
    + ")",
    "CREATE TABLE IF NOT EXISTS counters (k text PRIMARY KEY, n counter)",
    "CREATE TYPE IF NOT EXISTS address (street text, zip int, tags frozen<set<text>>)",
    "CREATE TYPE IF NOT EXISTS person (name text, home frozen<address>, "
    "phones map<text, text>, previous list<frozen<address>>)",
    "CREATE TYPE IF NOT EXISTS point (x int, y int)",
    "CREATE TABLE IF NOT EXISTS udts (k text PRIMARY KEY, who frozen<person>, at point)",
)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def schema(cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str) -> str:
    """The keyspace, once its tables and types exist; UDTs map to the classes of ``cases``."""
    for statement in _SCHEMA:
        await cql.execute(statement, timeout=DDL)
    for udt, cls in (("address", Address), ("person", Person), ("point", Point)):
        cql_cluster.driver_cluster.register_user_type(keyspace, udt, cls)
    return keyspace
