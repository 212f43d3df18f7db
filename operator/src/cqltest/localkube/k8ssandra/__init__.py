"""The K8ssandra stand-in: K8ssandraClusters served by real local Cassandra nodes.

cass-operator runs Cassandra in containers from images; localkube has neither. This stand-in
serves the part of the K8ssandra contract cqltest relies on (``shared/reference/k8ssandra.md``):
the ``K8ssandraCluster`` CRD (:mod:`.crd`), and a controller process
(``python -m cqltest.localkube.k8ssandra``) that starts a ``cqltest.local`` cluster per object
and publishes what cass-operator would (Pods, Services, Endpoints, the superuser Secret, the
status). Pure rules live in :mod:`.translate`, :mod:`.stores`, :mod:`.objects` and
:mod:`.status`; the I/O in :mod:`.reconcile` and :mod:`.controller`.
"""
