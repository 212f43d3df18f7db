"""cqlsuites: built-in Cassandra test suites, the pytest result plugin and the pod entrypoint."""
