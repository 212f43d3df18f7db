"""load: a sustained workload, open-loop at a target rate or as fast as it goes.

The suite's operations feed the result plugin's metrics (ops/s, error rate, p50/p95/p99/max),
so a TestRun's ``thresholds`` decide whether the cluster was fast enough; the tests themselves
check what a load run must never do: stall, miss its rate or mix, or read back wrong data.
"""
