"""schema: schema changes are safe while the application keeps querying.

Columns are added and dropped, tables dropped and re-created, indexes built while queries run;
the only errors allowed are the ones Cassandra documents for the change (a dropped table is
unknown until it is re-created). After every change each node reports the same schema
version, and the driver's metadata follows.
"""
