"""The ``streaming`` suite on one node, its large result read in bounded memory, the growth of
the resident set reported in the result's JUnit XML."""

from __future__ import annotations

import re

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 17


def test_streaming_suite_passes_and_records_rss_growth(cluster_single: ClusterInfo) -> None:
    result = run_suite("streaming", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]
    growth = re.search(r'name="rssGrowthMiB" value="([0-9.]+)"', result["junitXml"])
    assert growth is not None, "the RSS growth of the large stream is not in the report"
    assert float(growth.group(1)) <= 12
