"""What the operator writes to ``status`` it must read back: it dumps without None fields, so
a field that may be None and has no default makes the next reconcile's read fail, and the
operator then sees no previous status at all (CI saw a run whose threshold metric was never
recorded lose its cluster state and show its fault as 'waiting for the cluster')."""

from __future__ import annotations

import importlib
import pkgutil
import typing

import cqltest.model
from cqltest.model import SuiteStatus, TestRunStatus
from cqltest.model.status import ThresholdResult
from pydantic import BaseModel


def _models() -> list[type[BaseModel]]:
    found = []
    for info in pkgutil.iter_modules(cqltest.model.__path__, "cqltest.model."):
        module = importlib.import_module(info.name)
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, BaseModel) and c.__module__ == info.name
        ]
    return found


def test_every_field_that_may_be_none_may_also_be_absent() -> None:
    required_none = [
        f"{model.__name__}.{name}"
        for model in _models()
        for name, field in model.model_fields.items()
        if field.is_required() and type(None) in typing.get_args(field.annotation)
    ]
    assert required_none == []


def test_a_threshold_without_a_measured_value_reads_back() -> None:
    suite = SuiteStatus(
        name="resilience",
        phase="Failed",
        wave=1,
        thresholds=[ThresholdResult(metric="maxLostWrites", limit=0, value=None, ok=False)],
    )
    status = TestRunStatus(phase="Running", suites=[suite])
    written = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert "value" not in written["suites"][0]["thresholds"][0]
    assert TestRunStatus.model_validate(written) == status
