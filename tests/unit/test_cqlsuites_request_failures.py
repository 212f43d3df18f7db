"""Which failures a workload counts and which it raises: a node busy restarting answers
``Overloaded`` (the protocol module's own exception class, not the package's), and a
resilience run must count that as a failed request rather than die of it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest
from cassandra import WriteTimeout
from cassandra.connection import ConnectionShutdown
from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage, SyntaxException
from cqlsuites.kit import REQUEST_FAILURES
from cqlsuites.suites.resilience import workload as resilience


@pytest.mark.parametrize(
    "error",
    [
        OverloadedErrorMessage(0x1001, "overloaded", None),
        IsBootstrappingErrorMessage(0x1002, "bootstrapping", None),
        ConnectionShutdown("node went away"),
        WriteTimeout("timed out", write_type=0),
        TimeoutError(),
    ],
)
def test_what_a_workload_counts(error: Exception) -> None:
    assert isinstance(error, REQUEST_FAILURES)


def test_a_bad_statement_is_a_bug_not_a_failure_to_count() -> None:
    assert not isinstance(SyntaxException(0x2000, "line 1", None), REQUEST_FAILURES)


class OverloadedAtFirst:
    """An AsyncSession at its protocol boundary: the first writes are refused as Overloaded."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.rows: dict[int, bytes] = {}

    async def prepare(self, query: str) -> SimpleNamespace:
        return SimpleNamespace(query=query, consistency_level=None)

    async def execute(self, statement: Any, params: Any = None, **_: Any) -> Any:
        await asyncio.sleep(0)
        if isinstance(statement, str):
            return None
        if statement.query.startswith("INSERT"):
            if self.refusals > 0:
                self.refusals -= 1
                raise OverloadedErrorMessage(0x1001, "overloaded", None)
            key, value = params
            self.rows[key] = value
            return None
        return self._read(params[0])

    async def execute_concurrent(self, pairs: Iterable[Any], **_: Any) -> list[Any]:
        return [self._read(params[0]) for _, params in pairs]

    def _read(self, key: int) -> Any:
        found = [SimpleNamespace(v=self.rows[key])] if key in self.rows else []
        return SimpleNamespace(rows=found)


def test_overloaded_answers_are_counted_and_the_run_goes_on() -> None:
    session = OverloadedAtFirst(refusals=3)
    workload = resilience.Workload(
        consistency="QUORUM",
        concurrency=2,
        duration=0.3,
        keys=40,
        read_ratio=0.3,
        recovery_wait=1.0,
    )
    report = asyncio.run(resilience.run(session, workload))  # type: ignore[arg-type]
    assert report.errors_by_kind == {"OverloadedErrorMessage": 3}
    assert report.writes_failed == 3
    assert len(report.acknowledged) == 40 - 3  # a refused key is not written again
    assert report.lost == []
