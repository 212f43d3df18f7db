"""cqltest: run Cassandra integration test suites against clusters it provisions.

The same TestRun manifest drives two backends: a kopf operator on Kubernetes and a
local mode on real Cassandra processes. See DESIGN.md for the layering rules.
"""

__version__ = "0.1.0"
