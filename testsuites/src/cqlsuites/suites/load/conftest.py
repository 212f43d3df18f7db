"""The workload the suite's params describe, run once and shared by the tests that judge it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession

from cqlsuites.suites.load.workload import PROFILES, LoadReport, Workload, run


@pytest.fixture(scope="session")
def workload(suite_params: Mapping[str, Any]) -> Workload:
    """The main workload, exactly as the TestRun's params ask."""
    for name in ("concurrency", "partitions", "rowSize"):
        if suite_params[name] < 1:
            raise pytest.UsageError(f"param {name}={suite_params[name]}: must be at least 1")
    if not 0 <= suite_params["readRatio"] <= 1 or suite_params["rate"] < 0:
        raise pytest.UsageError("param readRatio must be within [0, 1] and rate at least 0")
    return Workload(
        profile=PROFILES[suite_params["profile"]],
        duration=suite_params["duration"],
        rate=float(suite_params["rate"]),
        concurrency=suite_params["concurrency"],
        consistency=suite_params["consistency"],
        read_ratio=suite_params["readRatio"],
        row_size=suite_params["rowSize"],
        partitions=suite_params["partitions"],
    )


@pytest.fixture(scope="session")
async def load_report(cql: AsyncSession, workload: Workload) -> LoadReport:
    """The main workload's report; the run itself is what the suite's metrics measure."""
    return await run(cql, workload)
