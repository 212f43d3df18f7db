"""observability: what a cluster and the client say about the requests they served.

Query traces are read back from ``system_traces`` and parsed (coordinator, replicas, per-event
elapsed times, total duration) and cross-checked against the driver's own reading; server
warnings (tombstones scanned, batch size) reach the client both on the result and in the
driver's log; aiocql's counters, per-kind error counts, listeners and latency histogram agree
exactly with the requests a test made on a fresh session.
"""
