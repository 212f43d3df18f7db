"""The ``streaming`` suite on one node, its large result read in bounded memory, the growth of
the resident set reported in the result's JUnit XML."""

from __future__ import annotations

import re

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_streaming_suite_passes_and_records_rss_growth(cluster_single: ClusterInfo) -> None:
    result = run_passing("streaming", cluster_single, tests=17)
    growth = re.search(r'name="rssGrowthMiB" value="([0-9.]+)"', result["junitXml"])
    assert growth is not None, "the RSS growth of the large stream is not in the report"
    assert float(growth.group(1)) <= 12
