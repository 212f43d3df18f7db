"""``python -m cqlsuites probe``: is the cluster answering CQL, as a suite would reach it?

The operator runs this as a Job inside the cluster's network before it starts any suite
(readiness as K8ssandra reports it says the nodes are up, not that a client with these
credentials and this CA can query them). It reads the same environment contract as a suite,
retries until ``timeout``, prints the server version and exits 0, or prints why not and exits 1.
"""

from __future__ import annotations

import asyncio
import sys
import time

from cqlsuites import connect
from cqlsuites.env import EnvError, read_env

EXIT_OK, EXIT_FAILED = 0, 1
QUERY = "SELECT release_version FROM system.local"


async def probe_once(limit: float) -> str:
    """The release_version of the node that answers, or the driver's error."""
    env = read_env()
    async with connect.new_cluster(env) as cluster:
        session = await cluster.connect(timeout=limit)
        result = await session.execute(QUERY, timeout=limit)
        row = result.one()
        return str(row[0] if row is not None else "unknown")


def probe(timeout: float = 60.0, interval: float = 2.0) -> int:
    """Probe until one query succeeds or ``timeout`` seconds pass; the exit code."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            version = asyncio.run(probe_once(max(1.0, min(left, 10.0))))
        except EnvError as exc:
            print(f"cqlsuites probe: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except Exception as exc:  # any driver error means "not yet"; the last one is reported
            if time.monotonic() + interval >= deadline:
                why = f"{type(exc).__name__}: {exc}"
                print(f"cqlsuites probe: no CQL answer: {why}", file=sys.stderr)
                return EXIT_FAILED
            time.sleep(interval)
            continue
        print(f"cqlsuites probe: release_version {version}")
        return EXIT_OK
