"""cqltest.local"""
