"""The ``schema`` suite passes on a healthy node.

It runs on the single-node session cluster: on the 3-node / 2-DC one every schema change waits
for agreement over three JVMs and the suite takes several times the catalogue test budget on a
loaded 2-core machine (it passes there too: run it by hand against ``cqltest cluster up --dcs
dc1:2,dc2:1``).
"""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_schema_suite_passes(cluster_single: ClusterInfo) -> None:
    run_passing("schema", cluster_single, tests=16)
