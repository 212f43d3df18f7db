"""The ``status`` of a TestRun: the one document both backends write and users read.

Local mode prints it (``cqltest run --output json``) and the operator patches it into the
TestRun; the engine's ``aggregate_status`` builds it, so its shape is identical in both modes.
Conditions follow metav1.Condition so ``kubectl wait --for=condition=Succeeded`` works.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from cqltest.model.faults import FaultStatus
from cqltest.model.result import Failure, Metrics, Outcome, TestCounts
from cqltest.model.types import CamelModel

RunPhase = Literal["Pending", "Provisioning", "Running", "Succeeded", "Failed", "Error", "Invalid"]
SuitePhase = Literal["Pending", "Running", "Passed", "Failed", "TimedOut", "Skipped", "Error"]
ConditionStatus = Literal["True", "False", "Unknown"]
AttemptState = Literal["Running", "Succeeded", "Failed", "TimedOut", "Error", "Cancelled"]
TERMINAL_RUN_PHASES: frozenset[str] = frozenset({"Succeeded", "Failed", "Error", "Invalid"})
FINAL_SUITE_PHASES: frozenset[str] = frozenset({"Passed", "Failed", "TimedOut", "Skipped", "Error"})


class Condition(CamelModel):
    """A metav1.Condition."""

    type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$", max_length=316)
    status: ConditionStatus
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    message: str = Field(default="", max_length=32768)
    last_transition_time: datetime
    observed_generation: int | None = Field(default=None, ge=0)


class ThresholdResult(CamelModel):
    """One threshold checked against a suite's metrics."""

    metric: str
    limit: float
    value: float | None = Field(
        default=None, description="The measured value; absent when none was recorded."
    )
    ok: bool


class AttemptStatus(CamelModel):
    """One attempt of a suite, as the engine last saw it.

    Kept so a restarted operator can rebuild what it saw: an attempt the engine cancelled
    (TimedOut, Cancelled) leaves no other trace once its Job is deleted.
    """

    attempt: int = Field(ge=1)
    state: AttemptState = Field(
        description="Running, or how the attempt ended before thresholds: Succeeded (exit 0), "
        "Failed, TimedOut, Error or Cancelled."
    )
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=4096)
    outcome: Outcome | None = Field(
        default=None,
        description="The outcome the attempt's result reported (passed, failed, error); "
        "absent when it reported none. The suite's tests, failures and metrics are those of "
        "the latest attempt with an outcome.",
    )


class SuiteStatus(CamelModel):
    """Where one suite stands."""

    name: str
    phase: SuitePhase
    wave: int = Field(ge=1)
    attempts: int = Field(default=0, ge=0)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = Field(default=None, ge=0)
    reason: str | None = None
    tests: TestCounts | None = None
    failures: list[Failure] = Field(default_factory=list)
    metrics: Metrics | None = None
    thresholds: list[ThresholdResult] = Field(default_factory=list)
    history: list[AttemptStatus] = Field(
        default_factory=list, description="Every attempt so far, in order."
    )


class ClusterStatus(CamelModel):
    """The cluster the suites run against."""

    name: str | None = None
    state: str = Field(description="Absent, Provisioning, Ready, Failed or TornDown.")
    existing: bool = False
    contact_points: list[str] = Field(default_factory=list)
    datacenters: dict[str, str] = Field(default_factory=dict)
    provision_seconds: float | None = Field(default=None, ge=0)
    message: str | None = None
    started_at: datetime | None = Field(
        default=None, description="When provisioning (or attaching) began."
    )
    ready_at: datetime | None = Field(
        default=None, description="When the cluster became ready; the run timeout counts from here."
    )


class SuiteCounts(CamelModel):
    """How many suites are in each phase."""

    total: int = 0
    pending: int = 0
    running: int = 0
    passed: int = 0
    failed: int = 0
    timed_out: int = 0
    skipped: int = 0
    error: int = 0


class Summary(CamelModel):
    """Totals over the whole run; ``progress`` feeds the kubectl printer column."""

    progress: str = Field(description="Suites passed/total, e.g. 3/5.")
    suites: SuiteCounts
    tests: TestCounts


class TestRunStatus(CamelModel):
    """The observed state of a TestRun."""

    __test__ = False

    phase: RunPhase
    observed_generation: int | None = Field(default=None, ge=0)
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    cluster: ClusterStatus | None = None
    waves: list[list[str]] = Field(default_factory=list)
    suites: list[SuiteStatus] = Field(default_factory=list)
    faults: list[FaultStatus] = Field(default_factory=list, description="Each fault's timeline.")
    summary: Summary | None = None
    message: str = ""
    reason: str | None = Field(default=None, description="CamelCase reason of a terminal phase.")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: str | None = Field(default=None, description="Elapsed time, e.g. 4m12s.")
    kopf: dict[str, Any] | None = Field(
        default=None,
        description="Owned by the kopf framework (handler progress); not part of the API.",
    )
