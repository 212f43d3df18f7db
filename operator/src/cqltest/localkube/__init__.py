"""localkube: a real Kubernetes on one machine, without Docker, kind or an image registry.

cqltest's operator mode (a TestRun applied to Kubernetes gets a K8ssandra cluster, test pods and
a status) must be demonstrable and testable where there is no container runtime. localkube runs
the real etcd, kube-apiserver, kube-controller-manager and kube-scheduler as local processes,
plus exactly two documented stand-ins:

* the node agent (``cqltest.localkube.agent``), instead of a kubelet: it runs each Pod's
  ``command``/``args`` as local processes on the host network (no image is pulled), with
  per-pod volumes, env, ``/etc/hosts``, status and logs as the kubelet provides them;
* the K8ssandra stand-in (``cqltest.localkube.k8ssandra``), instead of cass-operator: it serves
  ``K8ssandraCluster`` objects with real local Cassandra nodes (``cqltest.local``).

Everything else (admission, scheduling, the Job controller, garbage collection) is the real
Kubernetes code. ``instance`` starts, lists and stops named localkubes; the production path
remains kind or a real cluster with K8ssandra.
"""
