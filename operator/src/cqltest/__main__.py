"""``python -m cqltest``: the CLI, for processes started with a given interpreter (localkube)."""

from cqltest.cli.app import main

main()
