"""The node agent: localkube's stand-in for the kubelet, running pods as local processes.

``python -m cqltest.localkube.agent --kubeconfig K --node NAME --state-dir DIR --kubelet-port P``
registers Node NAME and runs every Pod the real scheduler binds to it, except the K8ssandra
stand-in's. What differs from a kubelet, and why it is enough for cqltest:

* no images: a container is its ``command`` + ``args`` run on this machine; ``python`` and
  ``python3`` mean the agent's own interpreter (``launching``);
* host network: podIP = hostIP = 127.0.0.1, ports are not remapped (two pods listening on
  one port clash, as ``hostNetwork`` pods do); Services resolve through a per-pod ``/etc/hosts``
  to their first endpoint, or the first ready pod their selector matches (``hosts``), since
  there is no DNS and no kube-proxy;
* isolation is a private mount namespace per container (``sandbox``): volumes, ``/etc/hosts``
  and the termination-message file are bind-mounted where the pod asks, without touching the
  host; there are no cgroups, so resource limits are reported (downward API) but not enforced;
* no probes: a running container is ready;
* the kubelet endpoint serves container logs only (``kubectl logs`` with ``-f``, ``--tail``,
  ``--limit-bytes``, ``--previous``; no per-line timestamps, so ``--timestamps`` is ignored
  and ``--since`` judges the whole log by its last write); ``kubectl exec``, ``attach`` and
  ``port-forward`` are not served (a pod's ports are on 127.0.0.1 anyway);
* ServiceAccount admission is off in localkube, so the agent itself mounts the pod's
  service-account token, CA and namespace where in-cluster clients look (``volumes``), and
  ``KUBERNETES_SERVICE_HOST``/``PORT`` name the apiserver's real address (``launching``).

Everything the control plane sees follows the kubelet: Node status and Lease (``node``), pod
status (``statuses``), env and ``$(VAR)`` expansion (``envvars``), volumes (``volumes``),
deletion and restarts (``pods``), ``kubectl logs`` (``logserver``).
"""
