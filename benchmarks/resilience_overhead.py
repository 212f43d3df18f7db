"""The resilience suite's own cost: its client ops/s against the load suite's, same params.

Both suites run through ``python -m cqlsuites run`` (the launcher's way) against one local node
this script starts, alternately for ``--rounds`` rounds so drift on a shared machine hits both
alike, with the same concurrency, duration, consistency and read share (load: kv profile).
Only each suite's main workload test runs (``-k``): load's other tests drive workloads of their
own. What differs is the work per request: resilience remembers every acknowledged key, and
reads every one back after the timed workload.

Compared: load's ``opsPerSecond`` (the result's metric: every request over the window they were
in flight, its main workload here) against resilience's ``workloadOpsPerSecond`` (requests of
its timed workload only) and its ``opsPerSecond`` (with the read-back). The ratios are
resilience / load: near 1 the bookkeeping costs nothing measurable, below 1 it is the overhead.

Usage: ``python benchmarks/resilience_overhead.py [--rounds N] [--duration 10s]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cqltest.local import ClusterSpec, DatacenterSpec, LocalCluster
from cqltest.model import SuiteSpec
from cqltest.render.environment import Connection, suite_variables

MAIN_TEST = {
    "load": "test_runs_for_the_requested_duration",
    "resilience": "test_the_workload_ran_for_its_duration",
}


def run_suite(name: str, connection: Connection, params: dict[str, Any], out: Path) -> Any:
    entry = SuiteSpec(name=name, params=params)
    env = {**os.environ, **suite_variables(connection, run="bench", suite=entry, attempt=1)}
    env["CQLTEST_RESULT_PATH"] = str(out)
    subprocess.run(
        [sys.executable, "-m", "cqlsuites", "run", name, "--", "-k", MAIN_TEST[name]],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    common = {
        "duration": args.duration,
        "concurrency": args.concurrency,
        "consistency": "LOCAL_QUORUM",
        "readRatio": 0.3,
    }
    figures: dict[str, list[dict[str, float]]] = {"load": [], "resilience": []}
    with tempfile.TemporaryDirectory(prefix="cqltest-bench-") as root:
        cluster = LocalCluster.create(
            ClusterSpec(name="overhead", datacenters=[DatacenterSpec("dc1", 1)]), root=root
        )
        try:
            info = cluster.start(timeout=300)
            connection = Connection(
                contact_points=tuple(info.contact_points),
                port=info.port,
                local_dc="dc1",
                topology={"dc1": {"nodes": 1, "replicationFactor": 1}},
            )
            for round_ in range(args.rounds):
                for name in ("load", "resilience"):
                    result = run_suite(name, connection, common, Path(root) / f"{name}.json")
                    metrics = result["metrics"]
                    entry = {
                        "round": round_,
                        "outcome": result["outcome"],
                        "tests": result["tests"]["total"],
                        "opsPerSecond": metrics["opsPerSecond"],
                        "operations": metrics["operations"],
                    }
                    if "workloadOpsPerSecond" in metrics:
                        entry["workloadOpsPerSecond"] = metrics["workloadOpsPerSecond"]
                    figures[name].append(entry)
        finally:
            cluster.destroy()
    load = statistics.median(f["opsPerSecond"] for f in figures["load"])
    workload = statistics.median(f["workloadOpsPerSecond"] for f in figures["resilience"])
    whole = statistics.median(f["opsPerSecond"] for f in figures["resilience"])
    print(
        json.dumps(
            {
                "params": common,
                "rounds": figures,
                "median": {
                    "load_opsPerSecond": load,
                    "resilience_workloadOpsPerSecond": workload,
                    "resilience_opsPerSecond": whole,
                },
                "ratio_resilience_workload_over_load": round(workload / load, 3) if load else None,
                "ratio_resilience_with_read_back_over_load": round(whole / load, 3)
                if load
                else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
