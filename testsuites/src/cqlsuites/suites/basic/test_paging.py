"""Async iteration over a result larger than a page: every row once, in clustering order."""

from __future__ import annotations

from aiocql import AsyncResult, AsyncSession

ROWS = 230
PAGE = 50


async def _fill(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS series (p int, c int, v text, PRIMARY KEY (p, c))",
        timeout=60,
    )
    insert = await cql.prepare("INSERT INTO series (p, c, v) VALUES (0, ?, ?)")
    await cql.execute_concurrent([(insert, (c, f"r{c}")) for c in range(ROWS)], concurrency=32)


async def test_async_for_yields_every_row_in_order(cql: AsyncSession) -> None:
    await _fill(cql)
    async with cql.stream("SELECT c, v FROM series WHERE p = 0", page_size=PAGE) as rows:
        seen = [(row.c, row.v) async for row in rows]
    assert seen == [(c, f"r{c}") for c in range(ROWS)]


async def test_async_for_over_pages_respects_the_page_size(cql: AsyncSession) -> None:
    await _fill(cql)
    async with cql.stream("SELECT c FROM series WHERE p = 0", page_size=PAGE) as stream:
        sizes = [len(page) async for page in stream.pages()]
    full, rest = divmod(ROWS, PAGE)
    assert sizes == [PAGE] * full + [rest], f"page sizes {sizes} for {ROWS} rows by {PAGE}"


async def test_next_page_walks_to_the_last_page(cql: AsyncSession) -> None:
    await _fill(cql)
    page: AsyncResult | None = await cql.execute(
        "SELECT c FROM series WHERE p = 0", fetch_size=PAGE
    )
    seen: list[int] = []
    while page is not None:
        seen.extend(row.c for row in page.rows)
        page = await page.next_page() if page.has_more_pages else None
    assert seen == list(range(ROWS))
