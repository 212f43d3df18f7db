"""Paging: a partition larger than a page comes back complete, in order, page by page."""

from __future__ import annotations

from aiocql import AsyncResult, AsyncSession

ROWS = 250
PAGE = 50


async def _fill(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS paged (p int, c int, v text, PRIMARY KEY (p, c))",
        timeout=60,
    )
    insert = await cql.prepare("INSERT INTO paged (p, c, v) VALUES (0, ?, ?)")
    await cql.execute_concurrent([(insert, (c, str(c))) for c in range(ROWS)], concurrency=32)


async def test_stream_yields_every_row_in_order(cql: AsyncSession) -> None:
    await _fill(cql)
    seen: list[int] = []
    async with cql.stream("SELECT c FROM paged WHERE p = 0", page_size=PAGE) as rows:
        async for row in rows:
            seen.append(row.c)
    assert seen == list(range(ROWS))


async def test_manual_paging_with_next_page(cql: AsyncSession) -> None:
    await _fill(cql)
    page: AsyncResult | None = await cql.execute("SELECT c FROM paged WHERE p = 0", fetch_size=PAGE)
    sizes = []
    while page is not None:
        sizes.append(len(page.rows))
        page = await page.next_page() if page.has_more_pages else None
    assert sum(sizes) == ROWS
    assert max(sizes) <= PAGE, f"a page held {max(sizes)} rows, more than the page size {PAGE}"
