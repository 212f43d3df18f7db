"""Built-in suites: each subdirectory is a pytest package run by ``python -m cqlsuites run``."""
