"""Cold provisioning vs a warm claim from the cluster pool (``spec.cluster.reuse``), per shape.

For 1 node and for 3 nodes over 2 datacenters, in one run and each under its own tmp root:
- ``cold_seconds``: a claim on an empty pool, i.e. provisioning a new cluster into it (create,
  start, wait until every node answers CQL and sees its peers UP, record the reset baseline);
- then ``rounds`` times: a run's work is simulated (a keyspace with a table and a row),
  the cluster is released (``reset_seconds``: faults healed, every node UP, the keyspace
  dropped, every node's own schema without it; ``reset_steps_seconds`` splits it into ``heal``,
  ``nodes_up``, ``drop`` and ``agreement``) and claimed again (``warm_claim_seconds``: the
  health check of every node);
- ``warm_seconds`` = reset + warm claim (the median round): what reuse costs per run instead of
  ``cold_seconds``; ``speedup`` = cold / warm.

Target (issue 10): warm ≤ 5 s and ≥ 5x faster than cold for the 3-node shape.

Usage: ``python benchmarks/pool.py [--rounds N] [--only 1_node|3_nodes_2_dcs]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cassandra.cluster import Cluster
from cqltest.local import LocalCluster
from cqltest.local.pooled import PooledCluster
from cqltest.model import ClusterSpec, parse_testrun
from cqltest.render.environment import Connection

SHAPES: dict[str, list[dict[str, Any]]] = {
    "1_node": [{"name": "dc1", "size": 1}],
    "3_nodes_2_dcs": [
        {"name": "dc1", "size": 2, "racks": ["r1", "r2"]},
        {"name": "dc2", "size": 1},
    ],
}


def _spec(datacenters: list[dict[str, Any]]) -> ClusterSpec:
    doc = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "bench"},
        "spec": {
            "cluster": {"datacenters": datacenters, "reuse": True, "pool": "bench"},
            "suites": [{"name": "smoke"}],
        },
    }
    return parse_testrun(doc).spec.cluster


def _litter(connection: Connection, round_no: int) -> None:
    """What a suite leaves behind for the reset to drop."""
    # generous timeouts: the benchmark shares the machine, and a slow answer is not a failure
    cluster = Cluster(
        list(connection.contact_points),
        port=connection.port,
        connect_timeout=30,
        control_connection_timeout=30,
        schema_metadata_enabled=False,
    )
    try:
        session = cluster.connect()
        session.default_timeout = 60
        dcs = ", ".join(f"'{dc}': 1" for dc in connection.topology)
        session.execute(
            f"CREATE KEYSPACE bench{round_no} WITH replication = "
            f"{{'class': 'NetworkTopologyStrategy', {dcs}}}"
        )
        session.execute(f"CREATE TABLE bench{round_no}.t (k int PRIMARY KEY, v text)")
        session.execute(f"INSERT INTO bench{round_no}.t (k, v) VALUES (1, 'x')")
    finally:
        cluster.shutdown()


def _mark(marks: dict[str, float], step: str) -> None:
    marks[step] = time.monotonic()


def _steps(started: float, marks: dict[str, float]) -> dict[str, float]:
    """Seconds each reset step took (healing faults, nodes UP, dropping what suites made, every
    node's own schema without it)."""
    names = {
        "faults healed": "heal",
        "every node UP": "nodes_up",
        "every node agrees on the schema": "agreement",
    }
    durations, previous = {}, started
    for step, at in sorted(marks.items(), key=lambda item: item[1]):
        durations[names.get(step, "drop")] = round(at - previous, 2)
        previous = at
    return durations


def measure(shape: str, rounds: int) -> dict[str, Any]:
    spec = _spec(SHAPES[shape])
    with tempfile.TemporaryDirectory(prefix="cqltest-bench-pool-") as tmp:
        root = Path(tmp)
        try:
            handle = PooledCluster(spec, "bench-0", root)
            started = time.monotonic()
            connection = handle.start(600, on_event=lambda message: None)
            cold = time.monotonic() - started
            assert handle.claimed_warm is False
            name = handle.name
            resets, claims, steps = [], [], []
            for round_no in range(1, rounds + 1):
                _litter(connection, round_no)
                started = time.monotonic()
                marks: dict[str, float] = {}
                handle.on_reset = functools.partial(_mark, marks)
                handle.teardown()  # what the end of a run does: reset and release
                resets.append(time.monotonic() - started)
                steps.append(_steps(started, marks))
                handle = PooledCluster(spec, f"bench-{round_no}", root)
                started = time.monotonic()
                connection = handle.start(600, on_event=lambda message: None)
                claims.append(time.monotonic() - started)
                assert handle.claimed_warm is True
                assert handle.name == name
            handle.teardown()
        finally:
            # every cluster under the root, claimed ones too (a failed round holds its claim)
            for cluster in LocalCluster.list(root):
                cluster.destroy()
    reset, claim = statistics.median(resets), statistics.median(claims)
    warm = reset + claim
    per_round = [r + c for r, c in zip(resets, claims, strict=True)]
    return {
        "cold_seconds": round(cold, 2),
        "reset_seconds": [round(s, 2) for s in resets],
        "reset_steps_seconds": steps,
        "warm_claim_seconds": [round(s, 2) for s in claims],
        "warm_seconds": round(warm, 2),
        "warm_seconds_per_round": [round(s, 2) for s in per_round],
        "warm_spread_seconds": {"min": round(min(per_round), 2), "max": round(max(per_round), 2)},
        "speedup": round(cold / warm, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SHAPES), default=None)
    args = parser.parse_args()
    # figures on a shared machine mean little without the load they were taken under
    load_before = os.getloadavg()
    results = {shape: measure(shape, args.rounds) for shape in SHAPES if args.only in (None, shape)}
    three = results.get("3_nodes_2_dcs")
    report: dict[str, Any] = {
        "rounds": args.rounds,
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "shapes": results,
    }
    if three is not None:
        report["target_3_nodes"] = {
            "warm_at_most_5s": three["warm_seconds"] <= 5.0,
            "at_least_5x_faster": three["speedup"] >= 5.0,
        }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
