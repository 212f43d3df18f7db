"""Why aiocql keeps its own latency histogram rather than the ``hdrhistogram`` package.

Records the same 200 000 log-normal latencies (median ≈ 1 ms) into aiocql's histogram
(``record`` and the batched ``record_many`` the session uses) and into ``hdrh``'s
``HdrHistogram`` at 2 and 3 significant digits, best of 5 (process CPU time), and checks each
one's p50/p99/p99.9 against the exact values. hdrhistogram is not a project dependency: this
script runs itself again under the peers' venv (benchmarks/peers.py), where it is installed.
Prints JSON; ``ratio`` is hdrhistogram's cost per record over ``record_many``'s.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
N = 200_000


def cost_ns(fn: Callable[[], Any], n: int) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best / n * 1e9


def measure() -> dict[str, Any]:
    from aiocql.stats import RELATIVE_ERROR, LatencyHistogram
    from hdrh.histogram import HdrHistogram  # type: ignore[import-not-found, unused-ignore]

    rng = random.Random(1)
    values = [rng.lognormvariate(-7, 0.8) for _ in range(N)]
    exact = sorted(values)
    out: dict[str, Any] = {"values": N, "aiocql_relative_error_bound": RELATIVE_ERROR}

    def fresh_ours() -> LatencyHistogram:
        return LatencyHistogram()

    def ours_many() -> None:
        fresh_ours().record_many(values)

    def ours_one() -> None:
        hist = fresh_ours()
        for v in values:
            hist.record(v)

    out["aiocql_record_many_ns"] = cost_ns(ours_many, N)
    out["aiocql_record_ns"] = cost_ns(ours_one, N)
    for digits in (2, 3):

        def hdr(d: int = digits) -> None:
            hist = HdrHistogram(1, 2**32, d)
            for v in values:
                hist.record_value(int(v * 1e6))

        out[f"hdrh_{digits}_digits_record_value_ns"] = cost_ns(hdr, N)
        out[f"hdrh_{digits}_digits_ratio"] = (
            out[f"hdrh_{digits}_digits_record_value_ns"] / out["aiocql_record_many_ns"]
        )
    ours = fresh_ours()
    ours.record_many(values)
    snap = ours.snapshot()
    hdr2 = HdrHistogram(1, 2**32, 2)
    for v in values:
        hdr2.record_value(int(v * 1e6))
    for q in (50.0, 99.0, 99.9):
        true = exact[max(0, -(-int(q * 10) * N // 1000) - 1)]
        out[f"p{q:g}_relative_error"] = {
            "aiocql": snap.percentile(q) / true - 1,
            "hdrh_2_digits": hdr2.get_value_at_percentile(q) / 1e6 / true - 1,
        }
    return out


def main() -> int:
    if os.environ.get("HISTOGRAM_COST_CHILD") != "1":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from peers import peers_venv

        python, _ = peers_venv(lambda message: print(message, file=sys.stderr, flush=True))
        env = {
            **os.environ,
            "HISTOGRAM_COST_CHILD": "1",
            "PYTHONPATH": str(REPO / "testsuites" / "src"),
        }
        # -P: benchmarks/operator.py must not shadow the stdlib's operator module
        return subprocess.run([str(python), "-P", __file__], env=env, check=False).returncode
    print(json.dumps(measure(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
