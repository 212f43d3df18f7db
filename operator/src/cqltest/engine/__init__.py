"""cqltest.engine"""
