"""queries: the query semantics applications rely on, each checked by reading data back.

Lightweight transactions (and exactly one winner under contention), TTL expiry and
tombstones that keep deleted data deleted, last-write-wins by ``USING TIMESTAMP``, static
columns, secondary and SAI indexes, materialized views where the cluster enables them,
ALLOW FILTERING, GROUP BY with aggregates, time series with TTL, wide partitions and paging
over tombstones.
"""
