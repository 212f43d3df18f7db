"""prepared: what a prepared statement promises across its life.

Positional and named markers bind what they name; one prepared statement serves many
executions; after ALTER TABLE the same statement returns the new columns, never stale
metadata; with token-aware routing the coordinator is a replica of the partition; UNSET values
leave columns untouched where NULL deletes them; values of a megabyte bind and return intact.
"""
