"""The K8ssandra stand-in: K8ssandraClusters served by real local Cassandra nodes.

cass-operator runs Cassandra in containers from images; localkube has neither. This stand-in
serves the part of the K8ssandra contract cqltest relies on (``shared/reference/k8ssandra.md``):
the ``K8ssandraCluster`` CRD (:mod:`.crd`), and a controller process
(``python -m cqltest.localkube.k8ssandra``) that starts a ``cqltest.local`` cluster per object
and publishes what cass-operator would (Pods, Services, Endpoints, the superuser Secret, the
status). Pure rules live in :mod:`.translate`, :mod:`.stores`, :mod:`.objects`,
:mod:`.status` and :mod:`.netpolicy`; the I/O in :mod:`.reconcile`, :mod:`.controller`,
:mod:`.publish` and :mod:`.cni`.

What the cqltest operator's faults do to a real cluster works here too: a deleted node Pod
restarts its node (SIGTERM when deleted gracefully, SIGKILL when forced) behind a new Pod, and
the stand-in plays a CNI enforcing NetworkPolicy with nftables, for a subset: Ingress policies
selecting node Pods limit internode traffic between the cluster's node Pods. Egress policies,
and traffic to or from any other Pod (they share the host network), are not enforced; nftables
needs root, and where the stand-in has none a policy is reported (a Warning Event), not enforced.
"""
