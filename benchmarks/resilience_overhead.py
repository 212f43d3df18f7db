"""The resilience suite's own cost: its client ops/s against the load suite's, same params.

Both suites run through ``python -m cqlsuites run`` (the launcher's way) against one local node
this script starts, with the same concurrency, duration, consistency and read share (load: kv
profile). Only each suite's main workload test runs (``-k``): load's other tests drive workloads
of their own. What differs is the work per request: resilience remembers every acknowledged key,
and reads every one back after the timed workload.

On a shared machine wall-clock ops/s swing with the neighbours' load, so:
- the suites alternate in every round and swap places each round (load first in even rounds,
  resilience first in odd ones), so drift hits both alike; each round gives one paired ratio and
  the report is the median of those ratios with their spread (min, max);
- the client's CPU time per operation is measured too (``getrusage`` of the suite's process
  tree), which a busy neighbour changes far less than wall time. The fixed cost of a suite
  process (interpreter, imports, collection) is measured per round by the same command with
  ``--collect-only`` and subtracted. What remains still holds a fixed part (connecting, the
  suite's schema), which weighs more in a round a busy machine let do fewer operations; so the
  per-op figure that matters is the marginal one: per suite, the least-squares slope of that
  CPU over the operations of all rounds (``marginal_cpu_us_per_op``, with the fixed part as
  the intercept and the fit's correlation).

Compared: load's ``opsPerSecond`` (its main workload's requests over their window) against
resilience's ``workloadOpsPerSecond`` (requests of its timed workload only) and its
``opsPerSecond`` (with the read-back). Ratios are resilience / load: near 1 the bookkeeping costs
nothing measurable; for CPU µs/op above 1 is the overhead.

Usage: ``python benchmarks/resilience_overhead.py [--rounds N] [--duration 10s]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
SUITES = ("load", "resilience")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(
    name: str, connection: Connection, params: dict[str, Any], out: Path, *pytest_args: str
) -> tuple[float, Any]:
    """CPU seconds of the suite's process tree, and its result (None for ``--collect-only``)."""
    entry = SuiteSpec(name=name, params=params)
    env = {**os.environ, **suite_variables(connection, run="bench", suite=entry, attempt=1)}
    env["CQLTEST_RESULT_PATH"] = str(out)
    out.unlink(missing_ok=True)
    before = _children_cpu()
    subprocess.run(
        [sys.executable, "-m", "cqlsuites", "run", name, "--", "-k", MAIN_TEST[name], *pytest_args],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    cpu = _children_cpu() - before
    return cpu, (json.loads(out.read_text()) if out.exists() and not pytest_args else None)


def one(name: str, connection: Connection, params: dict[str, Any], root: Path) -> dict[str, Any]:
    """One suite's figures in one round: ops/s, and client CPU µs per operation."""
    startup, _ = run_suite(name, connection, params, root / f"{name}-co.json", "--collect-only")
    cpu, result = run_suite(name, connection, params, root / f"{name}.json")
    metrics = result["metrics"]
    figures = {
        "outcome": result["outcome"],
        "opsPerSecond": metrics["opsPerSecond"],
        "operations": metrics["operations"],
        "cpu_seconds": round(cpu, 2),
        "startup_cpu_seconds": round(startup, 2),
        "cpu_us_per_op": round((cpu - startup) / metrics["operations"] * 1e6, 1)
        if metrics["operations"]
        else None,
    }
    if "workloadOpsPerSecond" in metrics:
        figures["workloadOpsPerSecond"] = metrics["workloadOpsPerSecond"]
    return figures


def marginal(figures: list[dict[str, Any]]) -> dict[str, float] | None:
    """CPU per operation as the slope of CPU (less startup) over operations across rounds."""
    xs = [float(f["operations"]) for f in figures]
    ys = [f["cpu_seconds"] - f["startup_cpu_seconds"] for f in figures]
    if len(set(xs)) < 2:
        return None
    fit = statistics.linear_regression(xs, ys)
    return {
        "marginal_cpu_us_per_op": round(fit.slope * 1e6, 1),
        "fixed_cpu_seconds": round(fit.intercept, 2),
        "correlation": round(statistics.correlation(xs, ys), 3),
    }


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    common = {
        "duration": args.duration,
        "concurrency": args.concurrency,
        "consistency": "LOCAL_QUORUM",
        "readRatio": 0.3,
    }
    rounds: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cqltest-bench-") as tmp:
        root = Path(tmp)
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
            for round_no in range(args.rounds):
                order = SUITES if round_no % 2 == 0 else SUITES[::-1]
                figures = {name: one(name, connection, common, root) for name in order}
                rounds.append({"round": round_no, "order": list(order), **figures})
        finally:
            cluster.destroy()
    load, res = [r["load"] for r in rounds], [r["resilience"] for r in rounds]
    ratios = {
        "workload_ops_per_second": [
            r["workloadOpsPerSecond"] / x["opsPerSecond"] for r, x in zip(res, load, strict=True)
        ],
        "ops_per_second_with_read_back": [
            r["opsPerSecond"] / x["opsPerSecond"] for r, x in zip(res, load, strict=True)
        ],
        "cpu_us_per_op": [
            r["cpu_us_per_op"] / x["cpu_us_per_op"]
            for r, x in zip(res, load, strict=True)
            if r["cpu_us_per_op"] and x["cpu_us_per_op"]
        ],
    }
    report: dict[str, Any] = {
        "params": common,
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "rounds": rounds,
        "median": {
            "load_opsPerSecond": statistics.median(x["opsPerSecond"] for x in load),
            "resilience_workloadOpsPerSecond": statistics.median(
                r["workloadOpsPerSecond"] for r in res
            ),
            "load_cpu_us_per_op": statistics.median(x["cpu_us_per_op"] or 0.0 for x in load),
            "resilience_cpu_us_per_op": statistics.median(r["cpu_us_per_op"] or 0.0 for r in res),
        },
        "paired_ratios_resilience_over_load": {k: spread(v) for k, v in ratios.items() if v},
        "cpu_fit": {"load": marginal(load), "resilience": marginal(res)},
    }
    fits = report["cpu_fit"]
    if fits["load"] and fits["resilience"]:
        report["marginal_cpu_ratio_resilience_over_load"] = round(
            fits["resilience"]["marginal_cpu_us_per_op"] / fits["load"]["marginal_cpu_us_per_op"],
            3,
        )
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
