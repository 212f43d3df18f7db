"""idempotency: a write is repeated only when repeating it cannot change the outcome.

The suite runs its own cluster whose retry policy is aiocql's ``IdempotentRetryPolicy`` with
every decision recorded. Unavailable errors come from the server for real (a keyspace that
claims more replicas than the local DC has, written at ALL); timeouts and request errors, which
a healthy cluster does not produce on demand, are put to the same policy object with real
prepared, bound, counter, conditional and batch statements. Lightweight transactions under
contention apply exactly once and concurrent counter updates add up exactly.
"""
