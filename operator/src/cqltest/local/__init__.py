"""Real local Apache Cassandra clusters: the embedded default backend and the tests' clusters.

``LocalCluster.create(spec).start()`` fetches the server jars from Maven Central (once), writes
per-node configuration and starts one JVM per node on its own loopback address.
"""

from cqltest.local.cluster import ClusterInfo, LocalCluster, NodeTimings
from cqltest.local.jars import DEFAULT_VERSION, ensure_jars, find_java
from cqltest.local.topology import SUPERUSER, ClusterSpec, DatacenterSpec, parse_dcs

__all__ = [
    "DEFAULT_VERSION",
    "SUPERUSER",
    "ClusterInfo",
    "ClusterSpec",
    "DatacenterSpec",
    "LocalCluster",
    "NodeTimings",
    "ensure_jars",
    "find_java",
    "parse_dcs",
]
