"""``python -m cqlsuites reset``: make a pooled cluster fit for its next run, from inside it.

A warm cluster handed from one TestRun to the next must not carry the first run's keyspaces
and roles. Local mode resets its clusters directly (``cqltest.local.reset``); in operator mode
the operator cannot reach pod addresses, so it runs this command as a Job, like the probe. Both
decide what to drop with :func:`to_drop`, the one rule: everything not in the baseline (what the
cluster held when it was new), never a system keyspace, never the role the reset logs in as.

Without ``--drop`` nothing is dropped: the command waits for CQL like the probe and prints the
cluster's keyspaces and roles as one JSON line (``{"keyspaces": [...], "roles": [...]}``), which
is how the operator records a new cluster's baseline. With ``--drop`` it drops what the baseline
given by ``--keep-keyspace``/``--keep-role`` does not name, then prints what is left.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from cqlsuites import connect
from cqlsuites.env import EnvError, read_env

EXIT_OK, EXIT_FAILED = 0, 1

#: Keyspaces Cassandra owns; never dropped, whatever the baseline says.
SYSTEM_KEYSPACES = frozenset(
    {
        "system",
        "system_auth",
        "system_distributed",
        "system_schema",
        "system_traces",
        "system_views",
        "system_virtual_schema",
    }
)
DROP_TIMEOUT = 60.0


def quote(name: str) -> str:
    """A CQL identifier, quoted so any name (mixed case, odd characters) is the one meant."""
    return '"' + name.replace('"', '""') + '"'


def to_drop(
    keyspaces: Collection[str],
    roles: Collection[str],
    kept: Mapping[str, Sequence[str]],
    login: str | None,
) -> tuple[list[str], list[str]]:
    """The keyspaces and roles a reset drops: those not in ``kept`` (the baseline), sorted.

    System keyspaces and ``login`` (the role the reset itself uses) are kept whatever ``kept``
    says, so a missing or truncated baseline can never lock the pool out of its own cluster.
    """
    keep_keyspaces = SYSTEM_KEYSPACES | set(kept.get("keyspaces", []))
    keep_roles = set(kept.get("roles", [])) | ({login} if login else set())
    return sorted(set(keyspaces) - keep_keyspaces), sorted(set(roles) - keep_roles)


async def _reset_once(kept: Mapping[str, Sequence[str]] | None, limit: float) -> dict[str, Any]:
    env = read_env()
    async with connect.new_cluster(env) as cluster:
        session = await cluster.connect(timeout=limit)
        rows = await session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
        keyspaces = {row[0] for row in rows}
        roles: set[str] = set()
        if env.username:  # anonymous clients (auth off) have no roles to speak of
            roles = {row[0] for row in await session.execute("SELECT role FROM system_auth.roles")}
        if kept is not None:
            drop_keyspaces, drop_roles = to_drop(keyspaces, roles, kept, env.username)
            for keyspace in drop_keyspaces:
                await session.execute(
                    f"DROP KEYSPACE IF EXISTS {quote(keyspace)}", timeout=DROP_TIMEOUT
                )
            for role in drop_roles:
                await session.execute(f"DROP ROLE IF EXISTS {quote(role)}", timeout=DROP_TIMEOUT)
            keyspaces -= set(drop_keyspaces)
            roles -= set(drop_roles)
        return {"keyspaces": sorted(keyspaces - SYSTEM_KEYSPACES), "roles": sorted(roles)}


def reset(
    kept: Mapping[str, Sequence[str]] | None,
    timeout: float = 60.0,
    interval: float = 2.0,
) -> int:
    """Wait for CQL, drop what ``kept`` does not name (None: drop nothing), print what is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            left_over = asyncio.run(_reset_once(kept, max(1.0, min(left, 10.0))))
        except EnvError as exc:
            print(f"cqlsuites reset: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except Exception as exc:  # a node not answering yet, a schema change timing out
            if time.monotonic() + interval >= deadline:
                print(f"cqlsuites reset: {type(exc).__name__}: {exc}", file=sys.stderr)
                return EXIT_FAILED
            time.sleep(interval)
            continue
        print(json.dumps(left_over, sort_keys=True))
        return EXIT_OK
