"""TestRun spec and status models, the SuiteResult contract, and manifest validation.

Pure data and rules (plus the thin file/catalogue reader in :mod:`.loading`); the CRD schema is
generated from these models, so they are the single source of truth for both modes.
"""

from cqltest.model.loading import builtin_suites, load_testrun, parse_testrun, suite_directory
from cqltest.model.result import Failure, Latency, Metrics, Outcome, SuiteResult, TestCounts
from cqltest.model.spec import (
    ClusterSpec,
    Datacenter,
    ExistingCluster,
    PasswordSource,
    Resources,
    SecretKeyRef,
    Security,
    SuiteSpec,
    Teardown,
    TestRunSpec,
    Thresholds,
    Tls,
)
from cqltest.model.status import (
    FINAL_SUITE_PHASES,
    TERMINAL_RUN_PHASES,
    AttemptState,
    AttemptStatus,
    ClusterStatus,
    Condition,
    RunPhase,
    SuiteCounts,
    SuitePhase,
    SuiteStatus,
    Summary,
    TestRunStatus,
    ThresholdResult,
)
from cqltest.model.testrun import API_VERSION, GROUP, KIND, PLURAL, VERSION, ObjectMeta, TestRun
from cqltest.model.types import Duration, format_duration, parse_duration
from cqltest.model.validation import validate_testrun

__all__ = [
    "API_VERSION",
    "FINAL_SUITE_PHASES",
    "GROUP",
    "KIND",
    "PLURAL",
    "TERMINAL_RUN_PHASES",
    "VERSION",
    "AttemptState",
    "AttemptStatus",
    "ClusterSpec",
    "ClusterStatus",
    "Condition",
    "Datacenter",
    "Duration",
    "ExistingCluster",
    "Failure",
    "Latency",
    "Metrics",
    "ObjectMeta",
    "Outcome",
    "PasswordSource",
    "Resources",
    "RunPhase",
    "SecretKeyRef",
    "Security",
    "SuiteCounts",
    "SuitePhase",
    "SuiteResult",
    "SuiteSpec",
    "SuiteStatus",
    "Summary",
    "Teardown",
    "TestCounts",
    "TestRun",
    "TestRunSpec",
    "TestRunStatus",
    "ThresholdResult",
    "Thresholds",
    "Tls",
    "builtin_suites",
    "format_duration",
    "load_testrun",
    "parse_duration",
    "parse_testrun",
    "suite_directory",
    "validate_testrun",
]
