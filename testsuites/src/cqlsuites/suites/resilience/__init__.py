"""resilience: a steady workload while the TestRun's faults happen, judged by what it lost.

The suite does not break anything itself: ``spec.faults`` kill, freeze, restart or partition
nodes while it runs. It records every acknowledged write, reads each one back at the end at the
same consistency (``lostWrites`` must be 0), and reports the error window, the errors by kind
and the time to recover full throughput as metrics the TestRun's thresholds can bound
(``maxLostWrites``, ``maxErrorWindowSeconds``).
"""
