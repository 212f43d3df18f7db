"""data-types: every CQL type survives a write and a read, through simple and prepared statements.

Each scalar type, collections of several element types (nested, frozen and not), tuples and UDTs
(nested, with collections) are written and read back and compared exactly; so are nulls, empty
values, the boundaries of each type and values as large as the ``blobBytes`` and
``collectionElements`` params. A driver or server that loses precision, scale, sign, range or
bytes fails the test naming the type and the value.
"""
