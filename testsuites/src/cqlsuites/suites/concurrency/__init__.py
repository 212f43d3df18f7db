"""concurrency: one session under many simultaneous requests, every answer going to its caller.

Hundreds of reads and writes are issued at once (``asyncio.gather``, not a loop), mixed, at each
consistency level the topology can satisfy, through shared prepared statements. Every result is
checked against the request that asked for it, so a driver or wrapper that mixes up responses
(cross-talk), loses a write or lets more than the in-flight window out at once fails here.
"""
