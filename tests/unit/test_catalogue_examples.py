"""The catalogue examples: catalogue.yaml runs every non-destructive suite as issue 9 asks, and
load.yaml shows thresholds on params the load suite accepts."""

from __future__ import annotations

from pathlib import Path

from cqlsuites.catalogue import read_catalogue
from cqltest.model import load_testrun

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"


def test_catalogue_example_runs_every_non_destructive_suite() -> None:
    run = load_testrun(EXAMPLES / "catalogue.yaml")
    spec = run.spec
    wanted = {n for n, info in read_catalogue().items() if "destructive" not in info.markers}
    assert {s.builtin_suite for s in spec.suites} == wanted
    assert [dc.size for dc in spec.cluster.datacenters] == [2, 1]
    assert spec.cluster.security.authentication
    assert spec.parallelism == 2
    by_name = {s.name: s for s in spec.suites}
    assert by_name["basic"].depends_on == ["smoke"]
    assert all(
        "basic" in s.depends_on for s in spec.suites if s.name not in ("smoke", "basic", "load")
    )
    assert all(not s.params for s in spec.suites), "catalogue.yaml runs the quick defaults"


def test_load_example_sets_thresholds_and_valid_params() -> None:
    [load] = load_testrun(EXAMPLES / "load.yaml").spec.suites
    assert load.thresholds is not None
    assert load.thresholds.min_ops_per_second is not None
    assert load.thresholds.p99_latency_ms is not None
    assert load.thresholds.error_rate is not None
    assert set(load.params) == set(read_catalogue()["load"].params)
