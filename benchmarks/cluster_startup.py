"""Seconds until a fresh local cluster is ready: 1 node, and 3 nodes over 2 datacenters.

What is timed: ``LocalCluster.start()`` on a freshly created cluster (jars and the
class-data-sharing archive already cached, as after ``make jars``), from the call until every
node answers CQL and sees every peer UP. Creating the cluster (config files, certificates) is
timed separately and is milliseconds.

Where the time goes, per node (seconds since the start call):
- ``cql_listening``: JVM launch to the CQL port accepting connections (JVM start, class loading,
  system keyspaces, gossip start; all CPU-bound on this machine);
- ``cql_answering``: a driver session pinned to that node has connected;
- ``peers_up``: that node lists every peer in system.peers_v2 with live messaging connections.
``cpu_seconds`` is the CPU the node's JVM had used when the cluster was ready: with N nodes
starting on C cores, start-up cannot be faster than sum(cpu_seconds) / C.

Comparisons measured in the same run (ratios are variant / default, 1 node):
- ``no_app_cds``: without our class-data-sharing archive (JDK base archive only);
- ``c1_only``: ``-XX:TieredStopAtLevel=1`` (faster start, slower steady state; not the default).

Usage: ``python benchmarks/cluster_startup.py [--rounds N] [--no-variants]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cqltest.local import ClusterSpec, DatacenterSpec, LocalCluster, find_java
from cqltest.local.classarchive import build_class_archive
from cqltest.local.jars import DEFAULT_VERSION, ensure_jars

TOPOLOGIES = {
    "1_node": [DatacenterSpec("dc1", 1)],
    "3_nodes_2_dcs": [DatacenterSpec("dc1", 2, ["r1", "r2"]), DatacenterSpec("dc2", 1)],
}


def _cpu_seconds(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, datacenters: list[DatacenterSpec], jvm_options: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cqltest-bench-") as root:
        created = time.monotonic()
        cluster = LocalCluster.create(
            ClusterSpec(name=name, datacenters=datacenters, jvm_options=jvm_options),
            root=root,
            owned=True,
        )
        create_seconds = time.monotonic() - created
        try:
            started = time.monotonic()
            cluster.start(timeout=300)
            ready = time.monotonic() - started
            cpu = {n.plan.name: _cpu_seconds(n.pid) for n in cluster.state.nodes}
            nodes = {
                node: {
                    "cql_listening": round(t.cql_listening or 0.0, 2),
                    "cql_answering": round(t.cql_answering or 0.0, 2),
                    "peers_up": round(t.peers_up or 0.0, 2),
                    "cpu_seconds": round(cpu[node] or 0.0, 2),
                }
                for node, t in cluster.last_timings.items()
            }
        finally:
            cluster.destroy()
    listening = [n["cql_listening"] for n in nodes.values()]
    return {
        "seconds_to_ready": round(ready, 2),
        "create_seconds": round(create_seconds, 3),
        "first_cql_listening": min(listening),
        "last_cql_listening": max(listening),
        "peers_up_after_last_cql": round(ready - max(listening), 2),
        "total_cpu_seconds": round(sum(n["cpu_seconds"] for n in nodes.values()), 2),
        "nodes": nodes,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds_to_ready"] for r in runs]
    return {
        "seconds_to_ready_median": round(statistics.median(seconds), 2),
        "seconds_to_ready_min": min(seconds),
        "seconds_to_ready_max": max(seconds),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-variants", action="store_true")
    args = parser.parse_args()

    java = find_java()
    ensure_jars(DEFAULT_VERSION)
    archive = build_class_archive(DEFAULT_VERSION)
    java_home = Path(os.path.realpath(java)).parent.parent
    variants: dict[str, list[str]] = {"default": []}
    if not args.no_variants:
        # The later -XX:SharedArchiveFile wins: the JDK's own base archive, not ours.
        variants["no_app_cds"] = [f"-XX:SharedArchiveFile={java_home}/lib/server/classes.jsa"]
        variants["c1_only"] = ["-XX:TieredStopAtLevel=1"]

    load_before = os.getloadavg()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    # Interleaved rounds, so drifting background load hits every variant alike.
    for _ in range(args.rounds):
        for topology, datacenters in TOPOLOGIES.items():
            for variant, options in variants.items():
                if topology != "1_node" and variant != "default":
                    continue
                run = measure(f"bench-{topology.replace('_', '-')}", datacenters, options)
                results.setdefault(topology, {}).setdefault(variant, []).append(run)
                print(f"{topology} {variant}: {run['seconds_to_ready']}s", file=sys.stderr)

    summary = {
        topology: {variant: summarize(runs) for variant, runs in by_variant.items()}
        for topology, by_variant in results.items()
    }
    single = summary["1_node"]
    ratios = {
        f"{variant}_vs_default_1_node": round(
            single[variant]["seconds_to_ready_median"]
            / single["default"]["seconds_to_ready_median"],
            2,
        )
        for variant in single
        if variant != "default"
    }
    report = {
        "benchmark": "cluster_startup",
        "cassandra_version": DEFAULT_VERSION,
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "class_data_sharing_archive": str(archive) if archive else None,
        "rounds": args.rounds,
        "seconds_to_ready": {
            "1_node": summary["1_node"]["default"]["seconds_to_ready_median"],
            "3_nodes_2_dcs": summary["3_nodes_2_dcs"]["default"]["seconds_to_ready_median"],
        },
        "targets": {"1_node": 20.0, "3_nodes_2_dcs": 60.0},
        "ratios": ratios,
        "detail": summary,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
