"""``cqltest cluster ...``: manage real local Cassandra clusters."""

from __future__ import annotations

import click


@click.group()
def cluster() -> None:
    """Start, inspect, fault and stop local Cassandra clusters."""
