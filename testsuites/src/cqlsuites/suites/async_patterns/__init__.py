"""async-patterns: the asyncio idioms applications build on aiocql behave.

Cancelling in-flight requests frees their slots, ``asyncio.timeout``/``wait_for`` around a slow
query cancel it cleanly, a bounded ``asyncio.Queue`` carries rows from a stream to consumers,
a TaskGroup fan-out with one failing task cancels its siblings and leaves the session usable,
and closing a session with requests in flight fails them at once instead of hanging.
"""
