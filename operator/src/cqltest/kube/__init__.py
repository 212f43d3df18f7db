"""cqltest.kube"""
