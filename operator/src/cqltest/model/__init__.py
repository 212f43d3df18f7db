"""cqltest.model"""
