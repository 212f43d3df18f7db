"""The root click group: it wires the command families together and maps errors to exit codes."""

from __future__ import annotations

import click

from cqltest import __version__
from cqltest.cli import cluster, localkube, operator, pool, run, submit, suites, testrun
from cqltest.cli.errors import CqltestGroup


@click.group(cls=CqltestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cqltest")
def main() -> None:
    """Run Cassandra test suites against real clusters, locally or on Kubernetes."""


main.add_command(cluster.cluster)
main.add_command(pool.pool)
main.add_command(localkube.localkube)
main.add_command(operator.operator)
main.add_command(testrun.validate)
main.add_command(run.run)
main.add_command(testrun.plan)
main.add_command(testrun.crd)
main.add_command(suites.suites)
main.add_command(submit.submit)
main.add_command(submit.status)
main.add_command(submit.logs)
