"""The workload runs once per suite; each test judges one aspect of its report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession

from cqlsuites.suites.resilience.workload import Report, Workload, run


@pytest.fixture(scope="session")
def workload(suite_params: Mapping[str, Any]) -> Workload:
    for name in ("concurrency", "keys"):
        if suite_params[name] < 1:
            raise pytest.UsageError(f"param {name}={suite_params[name]}: must be at least 1")
    if not 0 <= suite_params["readRatio"] < 1:
        raise pytest.UsageError(f"param readRatio={suite_params['readRatio']}: must be in [0, 1)")
    return Workload(
        consistency=suite_params["consistency"],
        concurrency=suite_params["concurrency"],
        duration=suite_params["duration"],
        keys=suite_params["keys"],
        read_ratio=suite_params["readRatio"],
        recovery_wait=suite_params["recoveryWait"],
        probe_consistency=suite_params["probeConsistency"] or None,
    )


@pytest.fixture(scope="session")
async def report(cql: AsyncSession, workload: Workload, suite_metrics: dict[str, Any]) -> Report:
    """The run's report; its figures join the suite's metrics whatever the tests decide."""
    done = await run(cql, workload)
    suite_metrics.update(done.metrics())
    return done
