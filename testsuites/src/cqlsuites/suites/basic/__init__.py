"""basic: what every application does with Cassandra, through aiocql.

CRUD, prepared statements, a logged batch, iteration over pages, errors surfaced as the driver's
own exceptions, a keyspace's lifecycle, and the session lifecycle: reuse across many operations,
several sessions on one cluster, a session that keeps working after errors, context managers.
"""
