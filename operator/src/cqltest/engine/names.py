"""Deterministic names for the children of a run, so re-deciding never duplicates work.

A backend that restarts (or decides twice) computes the same name for the same attempt and
finds the child it already created instead of creating another.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
_INVALID = re.compile(r"[^a-z0-9-]+")


def child_name(run: str, suite: str, attempt: int) -> str:
    """``<run>-<suite>-a<attempt>``, a DNS-1123 label; long names keep a hash of the full one."""
    return _name(f"{run}-{suite}", f"-a{attempt}", f"{run}/{suite}")


def _name(base: str, suffix: str, identity: str) -> str:
    base = _INVALID.sub("-", base.lower()).strip("-") or "run"
    if len(base) + len(suffix) <= MAX_NAME:
        return base + suffix
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    keep = MAX_NAME - len(suffix) - len(digest) - 1
    return f"{base[:keep].rstrip('-')}-{digest}{suffix}"


LABEL_PREFIX = "cqltest.dev/"
LABEL_TESTRUN = f"{LABEL_PREFIX}testrun"
LABEL_SUITE = f"{LABEL_PREFIX}suite"
LABEL_ATTEMPT = f"{LABEL_PREFIX}attempt"
LABEL_COMPONENT = f"{LABEL_PREFIX}component"
"""What a child is for: ``suite`` (a test Job), ``probe`` (a CQL probe Job), ``report``."""
ANNOTATION_CANCELLED = f"{LABEL_PREFIX}cancelled"
"""On a test Job the engine cancelled: the CancelSuite's outcome, TimedOut or Cancelled."""
ANNOTATION_CANCEL_REASON = f"{LABEL_PREFIX}cancel-reason"
"""On a test Job the engine cancelled: the CancelSuite's reason."""


def attempt_labels(run: str, suite: str, attempt: int) -> dict[str, str]:
    """The labels of one attempt's Job and pod; label values may hold at most 63 characters."""
    return {
        LABEL_TESTRUN: label_value(run),
        LABEL_SUITE: suite,
        LABEL_ATTEMPT: str(attempt),
        LABEL_COMPONENT: "suite",
    }


def label_value(text: str) -> str:
    """``text`` as a label value (at most 63 characters): long run names keep a hash."""
    if len(text) <= MAX_NAME:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: MAX_NAME - 9].rstrip('-._')}-{digest}"


def probe_name(run: str, attempt: int) -> str:
    """``<run>-probe-p<attempt>``: the CQL probe Job; never a suite's name (those end -a<N>)."""
    return _name(f"{run}-probe", f"-p{attempt}", f"{run}/probe")


def report_name(run: str) -> str:
    """``<run>-report``: the ConfigMap holding the run's full reports."""
    return _name(run, "-report", f"{run}/report")
