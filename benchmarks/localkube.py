"""What a localkube costs: start-up, a trivial pod's round trip, a K8ssandraCluster to ready.

What is timed (all in one process, monotonic clock, on a localkube owned by this process under
a tmp root, taken down at the end whatever happens):

- ``up_to_schedulable``: ``cqltest.localkube.instance.up()`` from the call until it returns,
  i.e. etcd, the apiserver, the controller manager, the scheduler, the node agent and the
  K8ssandra stand-in are running, the CRDs are served, the ``default`` ServiceAccount exists and
  the Node is schedulable. Repeated ``--ups`` times (up, then down; the last one stays up for
  the rest); ``down_seconds`` is each ``down()``.
- ``pods``: ``--pods`` bare Pods (``restartPolicy: Never``) running ``python -c pass``, created
  one after another; each is timed from just before its POST until a watch on the namespace
  (opened before the first POST, so no event is missed and nothing is polled) first shows it
  scheduled (``spec.nodeName``), ``Running`` and ``Succeeded``. Quantiles are nearest-rank.
  ``never_seen_running`` counts pods whose watch showed no Running phase before Succeeded.
- ``k8ssandra``: a K8ssandraCluster (the dev manifest of ``shared/reference/k8ssandra.md``
  §7(a), serverVersion 5.0.9 because the stand-in runs Cassandra 5.0) with one DC of one node,
  then one with two DCs of one node each, each from its POST until a watch on the object shows
  the contract's readiness (``CassandraInitialized`` True, ``error: None``, observedGeneration
  current, every DC ``Ready`` with ``cassandraOperatorProgress: Ready`` and one nodeStatus per
  node); then from its DELETE until the watch shows it gone (its finalizer has destroyed the
  local cluster). Each 1-node round uses a new name, so every one is a first create. The
  stand-in's log splits create → ready into ``create_to_nodes_starting_s`` (the controller: its
  watch, secrets, the local cluster's files, Services, Pods) and ``nodes_starting_to_ready_s``
  (``LocalCluster.start``: JVMs up, CQL answering, the superuser set up).
- ``bare_local_cluster``: the same 1-node cluster as plain ``cqltest.local`` (the ClusterSpec
  the stand-in builds for that manifest, created and started under a tmp root), measured in the
  same run, so ``ratios.k8ssandra_1_node_vs_bare_local_1_node`` (of the medians) is the
  stand-in's overhead (Kubernetes objects, secrets, status writes) over starting Cassandra
  itself. Both 1-node measurements run ``--rounds`` times, interleaved and in alternating order,
  so drifting background load hits both alike; the 2-DC cluster runs once, last.

Usage: ``python benchmarks/localkube.py [--ups 3] [--pods 20] [--rounds 2]``
(``make bench-localkube``).
Needs the control-plane binaries (``cqltest localkube install``) and the Cassandra jars
(``make jars``). Prints JSON; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import math
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cqltest.local import LocalCluster
from cqltest.local.jars import DEFAULT_VERSION, ensure_jars
from cqltest.localkube.instance import K8SSANDRA, Localkube, up
from cqltest.localkube.k8ssandra.translate import translate

NAME = "bench"
NAMESPACE = "bench"
POD_TIMEOUT = 60.0
CLUSTER_TIMEOUT = 300.0
TARGETS = {"up_to_schedulable_s": 15.0, "pod_running_p95_s": 1.0, "k8ssandra_1_node_ready_s": 20.0}
CLUSTERS = "/apis/k8ssandra.io/v1alpha1/namespaces/{namespace}/k8ssandraclusters"
#: The stand-in's log lines that bracket starting a cluster's nodes.
STAND_IN_LINE = re.compile(r"^(\S+ \S+) \w+ [\w.]+: (\S+): (starting|ready)\b")
PODS = "/api/v1/namespaces/{namespace}/pods"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- manifests


def k8ssandra_cluster(name: str, datacenters: list[str]) -> dict[str, Any]:
    """§7(a) of the K8ssandra reference, one node per DC."""
    return {
        "apiVersion": "k8ssandra.io/v1alpha1",
        "kind": "K8ssandraCluster",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "auth": True,
            "cassandra": {
                "serverVersion": DEFAULT_VERSION,
                "mgmtAPIHeap": "64Mi",
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1536Mi"},
                    "limits": {"memory": "1536Mi"},
                },
                "storageConfig": {
                    "cassandraDataVolumeClaimSpec": {
                        "storageClassName": "standard",
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "2Gi"}},
                    }
                },
                "config": {
                    "jvmOptions": {"heap_initial_size": "512Mi", "heap_max_size": "512Mi"},
                    "cassandraYaml": {"auto_snapshot": False},
                },
                "datacenters": [{"metadata": {"name": dc}, "size": 1} for dc in datacenters],
            },
        },
    }


def trivial_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "main", "image": "python:3.11-slim", "command": ["python", "-c", "pass"]}
            ],
        },
    }


def k8ssandra_ready(body: dict[str, Any]) -> bool:
    """The contract's readiness predicate (§2.3, without the CQL probe)."""
    status = body.get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    if conditions.get("CassandraInitialized") != "True" or status.get("error") != "None":
        return False
    if status.get("observedGeneration", 0) < body["metadata"]["generation"]:
        return False
    for dc in body["spec"]["cassandra"]["datacenters"]:
        cassandra = ((status.get("datacenters") or {}).get(dc["metadata"]["name"]) or {}).get(
            "cassandra"
        ) or {}
        dc_conditions = {c["type"]: c["status"] for c in cassandra.get("conditions") or []}
        if dc_conditions.get("Ready") != "True":
            return False
        if cassandra.get("cassandraOperatorProgress") != "Ready":
            return False
        if len(cassandra.get("nodeStatuses") or {}) != dc["size"]:
            return False
    return True


# ---------------------------------------------------------------------------- API access


def call(local: Localkube, method: str, path: str, body: Any = None) -> Any:
    status, answer = local.request(method, path, body)
    if status >= 300:
        raise SystemExit(f"{method} {path} answered {status}: {answer}")
    return answer


class Watch:
    """A watch on one collection, read by a thread that stamps every event on arrival.

    ``on_event(type, object, seconds)`` runs in the reader thread; it starts from the
    collection's current resourceVersion, so nothing created afterwards is missed."""

    def __init__(
        self,
        local: Localkube,
        collection: str,
        on_event: Callable[[str, dict[str, Any], float], None],
    ) -> None:
        version = call(local, "GET", collection)["metadata"]["resourceVersion"]
        query = urllib.parse.urlencode(
            {"watch": "true", "resourceVersion": version, "timeoutSeconds": "1800"}
        )
        host, _, port = local.server.removeprefix("https://").partition(":")
        self._conn = http.client.HTTPSConnection(host, int(port), context=local.ssl_context())
        self._conn.request("GET", f"{collection}?{query}", headers={"Accept": "application/json"})
        self._response = self._conn.getresponse()
        if self._response.status != 200:
            raise SystemExit(f"watch {collection} answered {self._response.status}")
        self._on_event = on_event
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            while line := self._response.readline():
                seconds = time.monotonic()
                event = json.loads(line)
                self._on_event(event["type"], event["object"], seconds)

    def close(self) -> None:
        """Shut the socket (the reader sees the stream end), then close the connection."""
        with contextlib.suppress(OSError):
            if self._conn.sock is not None:
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._conn.close()


class Milestones:
    """First time each (object, milestone) was seen, with a wait for one of them."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._changed = threading.Condition()

    def mark(self, name: str, milestone: str, seconds: float) -> None:
        with self._changed:
            self._seen.setdefault((name, milestone), seconds)
            self._changed.notify_all()

    def get(self, name: str, milestone: str) -> float | None:
        with self._changed:
            return self._seen.get((name, milestone))

    def wait(self, name: str, milestone: str, timeout: float) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: (name, milestone) in self._seen, timeout):
                raise SystemExit(f"{name}: not {milestone} after {timeout:.0f}s")
            return self._seen[(name, milestone)]


# ---------------------------------------------------------------------------- measurements


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def seconds_summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(quantile(values, 0.5), 3),
        "p95": round(quantile(values, 0.95), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def measure_ups(root: Path, rounds: int) -> tuple[Localkube, dict[str, Any]]:
    """``rounds`` x up (timed) then down (timed); the last one is returned still running."""
    up_seconds: list[float] = []
    down_seconds: list[float] = []
    for round_ in range(rounds):
        started = time.monotonic()
        local = up(NAME, owned=True, root=root)
        up_seconds.append(round(time.monotonic() - started, 2))
        log(f"up {round_ + 1}/{rounds}: {up_seconds[-1]}s")
        if round_ == rounds - 1:
            break
        started = time.monotonic()
        local.down()
        down_seconds.append(round(time.monotonic() - started, 2))
    return local, {
        "median": round(statistics.median(up_seconds), 2),
        "min": min(up_seconds),
        "max": max(up_seconds),
        "runs": up_seconds,
        "down_seconds": down_seconds,
    }


def measure_pods(local: Localkube, count: int) -> dict[str, Any]:
    seen = Milestones()

    def on_pod(kind: str, pod: dict[str, Any], seconds: float) -> None:
        name = pod["metadata"]["name"]
        if pod.get("spec", {}).get("nodeName"):
            seen.mark(name, "Scheduled", seconds)
        phase = (pod.get("status") or {}).get("phase")
        if phase:
            seen.mark(name, phase, seconds)

    collection = PODS.format(namespace=NAMESPACE)
    watch = Watch(local, collection, on_pod)
    created: dict[str, float] = {}
    try:
        for i in range(count):
            name = f"trivial-{i:02d}"
            created[name] = time.monotonic()
            call(local, "POST", collection, trivial_pod(name))
            seen.wait(name, "Succeeded", POD_TIMEOUT)
    finally:
        watch.close()

    def since_create(milestone: str) -> list[float]:
        return [t - created[n] for n in created if (t := seen.get(n, milestone)) is not None]

    running, succeeded = since_create("Running"), since_create("Succeeded")
    log(f"pods: Running p50 {quantile(running, 0.5):.3f}s, Succeeded p50 "
        f"{quantile(succeeded, 0.5):.3f}s")  # fmt: skip
    return {
        "command": ["python", "-c", "pass"],
        "count": count,
        "create_to_scheduled_s": seconds_summary(since_create("Scheduled")),
        "create_to_running_s": seconds_summary(running),
        "create_to_succeeded_s": seconds_summary(succeeded),
        "never_seen_running": count - len(running),
        "running_runs_s": [round(s, 3) for s in running],
        "succeeded_runs_s": [round(s, 3) for s in succeeded],
    }


def measure_k8ssandra(local: Localkube, name: str, datacenters: list[str]) -> dict[str, Any]:
    seen = Milestones()

    def on_cluster(kind: str, body: dict[str, Any], seconds: float) -> None:
        if body["metadata"]["name"] != name:
            return
        if kind == "DELETED":
            seen.mark(name, "deleted", seconds)
            return
        if k8ssandra_ready(body):
            seen.mark(name, "ready", seconds)

    collection = CLUSTERS.format(namespace=NAMESPACE)
    watch = Watch(local, collection, on_cluster)
    try:
        created, created_wall = time.monotonic(), time.time()
        call(local, "POST", collection, k8ssandra_cluster(name, datacenters))
        ready = seen.wait(name, "ready", CLUSTER_TIMEOUT) - created
        log(f"K8ssandraCluster {name} ({len(datacenters)} DC x 1 node): ready in {ready:.1f}s")
        deleting = time.monotonic()
        call(local, "DELETE", f"{collection}/{name}")
        deleted = seen.wait(name, "deleted", CLUSTER_TIMEOUT) - deleting
    finally:
        watch.close()
    return {
        "datacenters": len(datacenters),
        "nodes": len(datacenters),
        "create_to_ready_s": round(ready, 2),
        **stand_in_phases(local, name, created_wall),
        "delete_to_gone_s": round(deleted, 2),
    }


def stand_in_phases(local: Localkube, name: str, created_wall: float) -> dict[str, float | None]:
    """Where the time went, from the stand-in's log (wall clock, milliseconds): from the POST
    until it started the nodes (secrets, the local cluster's files, Services, Pods), and from
    then until the cluster answered with its superuser (``LocalCluster.start``)."""
    marks: dict[str, float] = {}
    for line in (local.root / f"{K8SSANDRA}.log").read_text(encoding="utf-8").splitlines():
        match = STAND_IN_LINE.match(line)
        if match is None or match.group(2) != f"{NAMESPACE}/{name}":
            continue
        stamp = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        marks.setdefault(match.group(3), stamp)
    starting, ready = marks.get("starting"), marks.get("ready")
    return {
        "create_to_nodes_starting_s": None
        if starting is None
        else round(starting - created_wall, 2),
        "nodes_starting_to_ready_s": (
            None if starting is None or ready is None else round(ready - starting, 2)
        ),
    }


def measure_bare_local(root: Path) -> dict[str, Any]:
    """The stand-in's own ClusterSpec for the 1-node manifest, as plain ``cqltest.local``."""
    translation = translate(k8ssandra_cluster("bare", ["dc1"]))
    # The generated superuser is named after its Secret, as the stand-in names it.
    spec = translation.cluster_spec((translation.superuser_secret, "bench-superuser-password"))
    started = time.monotonic()
    cluster = LocalCluster.create(spec, root, owned=True)
    try:
        cluster.start(timeout=CLUSTER_TIMEOUT)
        ready = time.monotonic() - started
    finally:
        cluster.destroy()
    log(f"bare LocalCluster (1 node): ready in {ready:.1f}s")
    return {"create_and_start_s": round(ready, 2), "heap": spec.heap, "authentication": True}


# ---------------------------------------------------------------------------- main


@contextlib.contextmanager
def scratch_home() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cqltest-bench-localkube-") as tmp:
        previous = os.environ.get("CQLTEST_HOME")
        os.environ["CQLTEST_HOME"] = str(Path(tmp) / "home")
        try:
            yield Path(tmp)
        finally:
            if previous is None:
                os.environ.pop("CQLTEST_HOME", None)
            else:
                os.environ["CQLTEST_HOME"] = previous


def binary_versions(local: Localkube) -> dict[str, str]:
    """The cached binaries are symlinks to ``<name>-<version>``."""
    return {
        name: Path(os.path.realpath(path)).name.removeprefix(f"{name}-")
        for name, path in sorted(local.binaries.items())
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ups", type=int, default=3, help="up/down repetitions")
    parser.add_argument("--pods", type=int, default=20, help="trivial pods, one after another")
    parser.add_argument("--rounds", type=int, default=2, help="1-node K8ssandra/bare pairs")
    args = parser.parse_args()

    ensure_jars(DEFAULT_VERSION)
    load_before = os.getloadavg()
    with scratch_home() as tmp:
        local, ups = measure_ups(tmp / "localkube", args.ups)
        try:
            versions = binary_versions(local)
            local.kubectl("create", "namespace", NAMESPACE)
            pods = measure_pods(local, args.pods)
            bare_runs: list[dict[str, Any]] = []
            one_runs: list[dict[str, Any]] = []
            for round_ in range(args.rounds):
                for step in ("bare", "k8ssandra") if round_ % 2 == 0 else ("k8ssandra", "bare"):
                    if step == "bare":
                        bare_runs.append(measure_bare_local(tmp / "bare"))
                    else:
                        name = f"one-{round_ + 1}"  # a first create each time, never a re-create
                        one_runs.append(measure_k8ssandra(local, name, ["dc1"]))
            two = measure_k8ssandra(local, "two", ["dc1", "dc2"])
        finally:
            local.down()
    one = round(statistics.median(r["create_to_ready_s"] for r in one_runs), 2)
    bare = round(statistics.median(r["create_and_start_s"] for r in bare_runs), 2)
    report = {
        "benchmark": "localkube",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "cassandra_version": DEFAULT_VERSION,
        "binaries": versions,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "up_to_schedulable_s": ups,
        "pods": pods,
        "k8ssandra": {
            "1_dc_1_node": {"create_to_ready_s_median": one, "runs": one_runs},
            "2_dcs_1_node_each": two,
        },
        "bare_local_cluster": {"1_node": {"create_and_start_s_median": bare, "runs": bare_runs}},
        "ratios": {
            "k8ssandra_1_node_vs_bare_local_1_node": round(one / bare, 2),
            "k8ssandra_2_dcs_vs_1_dc": round(two["create_to_ready_s"] / one, 2),
        },
        "targets": TARGETS,
        "meets_targets": {
            "up_to_schedulable_s": ups["median"] <= TARGETS["up_to_schedulable_s"],
            "pod_running_p95_s": pods["create_to_running_s"]["p95"] <= TARGETS["pod_running_p95_s"],
            "k8ssandra_1_node_ready_s": one <= TARGETS["k8ssandra_1_node_ready_s"],
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
