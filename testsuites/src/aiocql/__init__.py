"""aiocql: a correct, nearly free asyncio wrapper around cassandra-driver."""
