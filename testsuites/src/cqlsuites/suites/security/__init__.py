"""security: authentication, authorization per permission, role inheritance, client TLS, audit.

Every check connects as the client it describes (a wrong password, a role without a grant, a
plain socket against a TLS port), so a cluster that lets the wrong client in fails the suite.
Grants and revocations reach a node's permission cache within its validity period (2 s by
default), so those checks wait, bounded, for the change rather than assume it is instant.
"""
