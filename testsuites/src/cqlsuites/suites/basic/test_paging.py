"""Paging beyond one ordered partition (which smoke covers): a scan across partitions, a
reversed clustering order, and a clustering slice with a LIMIT, each spanning several pages."""

from __future__ import annotations

from aiocql import AsyncResult, AsyncSession

from cqlsuites import kit

PARTITIONS = 9
ROWS = 23  # per partition: with pages of 40, only the last page ends where a partition does
PAGE = 40


async def _fill(cql: AsyncSession) -> None:
    await kit.create_tables(cql, "grid (p int, c int, v text, PRIMARY KEY (p, c))")
    insert = await cql.prepare("INSERT INTO grid (p, c, v) VALUES (?, ?, ?)")
    cells = [(p, c, f"{p}/{c}") for p in range(PARTITIONS) for c in range(ROWS)]
    await cql.execute_concurrent([(insert, cell) for cell in cells], concurrency=32)


async def test_a_scan_pages_through_every_partition_once(cql: AsyncSession) -> None:
    await _fill(cql)
    async with cql.stream("SELECT p, c FROM grid", page_size=PAGE) as stream:
        pages = [[(row.p, row.c) for row in page] async for page in stream.pages()]
    seen = [cell for page in pages for cell in page]
    assert sorted(seen) == [(p, c) for p in range(PARTITIONS) for c in range(ROWS)], (
        f"{len(seen)} rows for {PARTITIONS * ROWS}, or some twice"
    )
    sizes = [len(page) for page in pages]
    assert max(sizes) <= PAGE, f"page sizes {sizes}: a page over {PAGE} rows"
    assert len(sizes) >= -(-len(seen) // PAGE), f"page sizes {sizes}: too few pages"
    # Token order: each partition's rows come as one run, in clustering order, even when a
    # page ends inside it.
    order = [p for i, (p, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != p]
    assert sorted(order) == list(range(PARTITIONS)), f"a partition came back in pieces: {order}"
    in_runs = sorted(seen, key=lambda cell: (order.index(cell[0]), cell[1]))
    assert seen == in_runs, "rows of a partition came back out of clustering order"


async def test_a_reversed_partition_pages_in_descending_order(cql: AsyncSession) -> None:
    await _fill(cql)
    query = "SELECT c FROM grid WHERE p = 3 ORDER BY c DESC"
    async with cql.stream(query, page_size=7) as rows:
        seen = [row.c async for row in rows]
        pages = rows.page_number
    assert seen == list(reversed(range(ROWS)))
    assert pages >= -(-ROWS // 7), f"{ROWS} rows by 7 came in {pages} page(s)"


async def test_a_clustering_slice_with_a_limit_stops_across_pages(cql: AsyncSession) -> None:
    await _fill(cql)
    page: AsyncResult | None = await cql.execute(
        "SELECT c FROM grid WHERE p = 5 AND c >= 4 AND c < 20 LIMIT 10", fetch_size=3
    )
    sizes: list[int] = []
    seen: list[int] = []
    while page is not None:
        sizes.append(len(page.rows))
        seen.extend(row.c for row in page.rows)
        page = await page.next_page() if page.has_more_pages else None
    assert seen == list(range(4, 14)), "the LIMIT or the slice's bounds were not kept over pages"
    assert sizes[:3] == [3, 3, 3], f"page sizes {sizes} for 10 rows by 3"
