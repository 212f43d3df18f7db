"""multi-dc: what two or more datacenters promise a client.

Writes made in one DC are read in another (at once after EACH_QUORUM, eventually after
LOCAL_QUORUM), each DC's session is coordinated by its own DC, and the LOCAL_* levels count
only local replicas while ONE and QUORUM use remote ones.
"""
