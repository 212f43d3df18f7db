"""Many rows or many requests from one call: ``execute_all`` and ``execute_concurrent``.

Both are built only from the session's single request path (streams and ``_execute_page``),
so they inherit its bounds, stats and listeners; what they add is the bookkeeping a caller
would otherwise get wrong: a row limit checked *before* a page is appended, results kept in
input order, and the first failure raised only after the requests already started finished
(a caller that sees the error can rely on nothing of this call still running).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from cassandra.query import BatchStatement

from .errors import ResultTooLarge
from .statements import really_idempotent

if TYPE_CHECKING:
    from .options import CallOptions
    from .session import AsyncSession
    from .stream import AsyncRowStream

__all__ = ["collect_all", "run_concurrently"]


async def collect_all(stream: AsyncRowStream, max_rows: int) -> list[Any]:
    """Every row of ``stream``, raising ``ResultTooLarge`` past ``max_rows``."""
    if not isinstance(max_rows, int) or max_rows < 0:
        raise ValueError(f"max_rows={max_rows!r}: must be an integer >= 0")
    rows: list[Any] = []
    async with stream:
        async for page in stream.pages():
            if len(rows) + len(page) > max_rows:
                raise ResultTooLarge(
                    f"the result has more than max_rows={max_rows} rows "
                    f"(stopped after {len(rows)}); use stream() for large results"
                )
            rows.extend(page)
    return rows


async def run_concurrently(
    session: AsyncSession,
    items: list[tuple[Any, Any]],
    options: CallOptions,
    concurrency: int,
    return_exceptions: bool,
) -> list[Any]:
    """See :meth:`AsyncSession.execute_concurrent`."""
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency={concurrency!r}: must be an integer >= 1")
    results: list[Any] = [None] * len(items)
    position = iter(range(len(items)))
    first_error: list[BaseException] = []

    async def worker() -> None:
        for index in position:
            if first_error:
                return
            statement, params = items[index]
            if isinstance(statement, BatchStatement):
                statement = really_idempotent(statement, session._prepared.by_id)
            try:
                results[index] = await session._execute_page(
                    "execute", statement, params, options, None
                )
            except Exception as exc:
                if return_exceptions:
                    results[index] = exc
                else:
                    first_error.append(exc)
                    return

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(items)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    if first_error:
        raise first_error[0]
    return results
