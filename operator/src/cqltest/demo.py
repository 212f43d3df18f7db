"""``make demo`` (interim, until the engine's local mode runs a TestRun): prove the stack works.

Starts a real 1-node Cassandra cluster from the Maven jars, does a CQL round trip with
cassandra-driver (keyspace, table, insert, select), prints what came back, and removes the
cluster again, whatever happens. Everything lives in a temp directory.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid

from cassandra.cluster import Cluster
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cqltest.errors import CqltestError
from cqltest.local import ClusterInfo, ClusterSpec, DatacenterSpec, LocalCluster


def round_trip(info: ClusterInfo, console: Console) -> None:
    cluster = Cluster(info.contact_points, port=info.port)
    try:
        session = cluster.connect()
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS demo WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 1}"
        )
        session.execute(
            "CREATE TABLE IF NOT EXISTS demo.greetings "
            "(id uuid PRIMARY KEY, language text, greeting text)"
        )
        insert = session.prepare(
            "INSERT INTO demo.greetings (id, language, greeting) VALUES (?, ?, ?)"
        )
        for language, greeting in (("en", "hello"), ("fr", "bonjour"), ("de", "hallo")):
            session.execute(insert, (uuid.uuid4(), language, greeting))
        rows = sorted(session.execute("SELECT language, greeting FROM demo.greetings"))
        version = session.execute("SELECT release_version FROM system.local").one()
        table = Table(title=f"demo.greetings on Cassandra {version.release_version}")
        table.add_column("language")
        table.add_column("greeting")
        for row in rows:
            table.add_row(row.language, row.greeting)
        console.print(table)
    finally:
        cluster.shutdown()


def main() -> int:
    console = Console()
    spec = ClusterSpec(name="demo", datacenters=[DatacenterSpec("dc1", 1)])
    with tempfile.TemporaryDirectory(prefix="cqltest-demo-") as root:
        started = time.monotonic()
        try:
            local = LocalCluster.create(spec, root=root, owned=True)
        except CqltestError as error:
            console.print(f"[red]error:[/red] {error}")
            return error.exit_code
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task("starting a 1-node Cassandra cluster", total=None)

                def on_event(node: str, message: str) -> None:
                    progress.update(task, description=f"{node}: {message}")

                info = local.start(timeout=180, on_event=on_event)
                progress.update(task, description="cluster ready")
            console.print(
                f"cluster ready in {time.monotonic() - started:.1f}s at "
                f"{info.contact_points[0]}:{info.port}"
            )
            round_trip(info, console)
        except CqltestError as error:
            console.print(f"[red]error:[/red] {error}")
            return error.exit_code
        finally:
            with console.status("stopping and removing the cluster"):
                local.stop()
                local.destroy()
        console.print("[green]demo complete:[/green] cluster stopped and removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
