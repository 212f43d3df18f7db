"""cqltest.render"""
