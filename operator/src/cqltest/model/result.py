"""The SuiteResult document a suite attempt writes (contracts.md §2), as the engine reads it.

The writer is the cqlsuites pytest plugin; this is the reader. The reader ignores fields it
does not know so the writer can add some without breaking older engines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from cqltest.model.types import CamelModel

Outcome = Literal["passed", "failed", "error"]


class ResultModel(CamelModel):
    """Base of the result document's models: tolerant of fields added by newer writers."""

    model_config = ConfigDict(extra="ignore")


class TestCounts(ResultModel):
    """How many tests ran and how they ended."""

    __test__ = False

    total: int = Field(default=0, ge=0)
    passed: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)


class Failure(ResultModel):
    """One failed test and the message that explains it."""

    test: str
    message: str = ""


class Latency(ResultModel):
    """Request latency percentiles in milliseconds."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


class Metrics(ResultModel):
    """What the suite measured through aiocql's request listener."""

    operations: int | None = Field(default=None, ge=0)
    ops_per_second: float | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0)
    latency_ms: Latency | None = None
    errors_by_kind: dict[str, int] = Field(default_factory=dict)
    acknowledged_writes: int | None = Field(
        default=None, ge=0, description="resilience: writes the cluster acknowledged."
    )
    lost_writes: int | None = Field(
        default=None, ge=0, description="resilience: acknowledged writes not readable at the end."
    )
    error_window_seconds: float | None = Field(
        default=None, ge=0, description="resilience: from the first failed request to the last."
    )
    recovery_seconds: float | None = Field(
        default=None,
        ge=0,
        description="resilience: from the first failed request until throughput was back.",
    )
    probe_errors_by_kind: dict[str, int] | None = Field(
        default=None,
        description="resilience: errors of the probe writes at probeConsistency, by kind.",
    )


class SuiteResult(ResultModel):
    """The result of one suite attempt."""

    suite: str
    attempt: int = Field(ge=1)
    outcome: Outcome
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = Field(default=None, ge=0)
    tests: TestCounts = Field(default_factory=TestCounts)
    failures: list[Failure] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    junit_xml: str | None = None
