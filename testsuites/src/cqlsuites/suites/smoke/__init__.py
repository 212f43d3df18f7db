"""smoke: the first suite any cluster should pass.

Connect, check the cluster is the one declared, create the suite keyspace with the requested
replication, CRUD, prepared statements, paging, and drop. Fast (seconds), but every check is
real and fails on a misconfigured or unhealthy cluster.
"""
