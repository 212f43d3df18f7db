"""Pages: their sizes, the callback that reports them, bound parameters, empty results, limits."""

from __future__ import annotations

import pytest
from aiocql import AsyncResult, AsyncSession, PageInfo

QUERY = "SELECT c, v FROM series WHERE p = 0"


@pytest.mark.parametrize("page_size", [7, 50, 250, 1000])
async def test_pages_hold_at_most_the_page_size(
    cql: AsyncSession, rows: int, page_size: int
) -> None:
    async with cql.stream(QUERY, page_size=page_size) as stream:
        sizes = [len(page) async for page in stream.pages()]
    assert sum(sizes) == rows, f"pages of {page_size} held {sum(sizes)} rows in all, not {rows}"
    assert max(sizes) <= page_size, f"a page held {max(sizes)} rows, over the page size {page_size}"
    short = [i for i, n in enumerate(sizes[:-1]) if n != page_size]
    assert not short, f"pages {short} before the last were not full: {sizes}"


async def test_on_page_reports_every_page(cql: AsyncSession, rows: int) -> None:
    infos: list[PageInfo] = []
    async with cql.stream(QUERY, page_size=60, on_page=infos.append) as stream:
        sizes = [len(page) async for page in stream.pages()]
    assert [i.number for i in infos] == list(range(1, len(sizes) + 1)), "page numbers skipped"
    assert [i.rows for i in infos] == sizes, f"callback sizes {[i.rows for i in infos]} != {sizes}"
    totals = [sum(sizes[: n + 1]) for n in range(len(sizes))]
    assert [i.rows_total for i in infos] == totals, "rows_total is not the running total"
    assert infos[-1].paging_state is None, "the last page still carried a paging state"
    assert all(i.paging_state for i in infos[:-1]), "a page before the last had no paging state"


@pytest.mark.parametrize("kind", ["simple", "prepared"])
async def test_bound_parameters(cql: AsyncSession, rows: int, kind: str) -> None:
    text = "SELECT c FROM series WHERE p = %s AND c >= %s AND c < %s"
    statement = text if kind == "simple" else await cql.prepare(text.replace("%s", "?"))
    async with cql.stream(statement, (3, 40, 200), page_size=16) as stream:
        got = [row.c async for row in stream]
    assert got == list(range(40, 200)), f"bound range [40, 200) of partition 3 streamed {got[:5]}…"


async def test_empty_result(cql: AsyncSession, rows: int) -> None:
    pages: list[int] = []
    async with cql.stream(
        "SELECT c FROM series WHERE p = 99", page_size=10, on_page=lambda i: pages.append(i.rows)
    ) as stream:
        got = [row async for row in stream]
        assert stream.rows_fetched == 0
    assert got == [], f"an empty partition streamed {len(got)} rows"
    assert pages == [0], f"an empty result should be one empty page, callbacks saw {pages}"


async def test_max_pages_stops_the_stream(cql: AsyncSession, rows: int) -> None:
    async with cql.stream(QUERY, page_size=20, max_pages=3) as stream:
        got = [row.c async for row in stream]
        requests, state = stream.page_requests, stream.paging_state
    assert got == list(range(60)), f"max_pages=3 of 20 rows streamed {len(got)} rows"
    assert requests == 3, f"max_pages=3 made {requests} page requests"
    assert state is not None, "a stream stopped by max_pages left no paging state to resume from"


async def test_stream_equals_execute(cql: AsyncSession, rows: int) -> None:
    async with cql.stream(QUERY, page_size=33) as stream:
        streamed = [(r.c, r.v) async for r in stream]
    whole = [(r.c, r.v) for r in await cql.execute_all(QUERY)]
    walked: list[tuple[int, str]] = []
    page: AsyncResult | None = await cql.execute(QUERY, fetch_size=33)
    while page is not None:
        walked.extend((r.c, r.v) for r in page.rows)
        page = await page.next_page() if page.has_more_pages else None
    assert streamed == whole, "stream and execute_all returned different rows"
    assert walked == whole, "walking pages with next_page differs from execute_all"
    assert whole == [(c, f"0:{c}") for c in range(rows)]
