"""The kopf operator: thin handlers that hand every TestRun to ``cqltest.kube.reconcile``.

Handlers here only decide *when* to reconcile (a run appears or resumes, a child Job or the
run's K8ssandraCluster changes, or the delay the last reconcile asked for passes) and publish
metrics; *what* happens is the engine's, through the same step local mode runs.
"""
