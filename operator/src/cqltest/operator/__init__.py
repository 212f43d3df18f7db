"""cqltest.operator"""
