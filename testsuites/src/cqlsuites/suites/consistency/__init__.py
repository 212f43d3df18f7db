"""consistency: each level either works or fails exactly as the replication says it must.

The suite computes from the run's topology (replication factor per datacenter) how many
replicas each level needs. A level the replication can meet must write and read; one it cannot
must raise Unavailable naming the required and alive replica counts. Serial levels drive
lightweight transactions; QUORUM/QUORUM must read its own writes; on several datacenters every
coordinator must be in the local one.
"""
