"""The operator on localkube, measured against local mode and under load, in one run.

1. ``smoke``: the smoke example through the operator (``kubectl apply``, until Completed) and
   through ``cqltest run`` on the same machine, back to back; the ratio is operator / local wall
   time, and the operator's time is split by the run's own status timestamps: Helm + K8ssandra
   readiness + CQL probe (cluster startedAt → readyAt), Job start (readyAt → suite startedAt),
   the suite, and the rest (teardown, status).
2. ``first_status``: TestRun create → first status seen by a watch, p50/p99 over N creates,
   one at a time (the latency a user sees) and as a burst (N creates back to back).
3. ``held``: N TestRuns attached to a K8ssandraCluster that never becomes ready (a version the
   stand-in refuses), all held in Provisioning: the operator's RSS, and reconcile latency
   quantiles from its own ``cqltest_reconcile_seconds`` histogram.

Usage: ``python benchmarks/operator.py [--creates 50] [--held 500]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import yaml
from cqltest.kube.client import Kube
from cqltest.localkube.instance import Localkube, up
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
CQLTEST = str(Path(sys.executable).parent / "cqltest")
CRD = REPO / "manifests" / "crds" / "testruns.cqltest.dev.yaml"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bench:
    def __init__(self, kube: Localkube, home: Path) -> None:
        self.kube, self.home = kube, home
        self.metrics_port, self.liveness_port = _free_port(), _free_port()
        log = (home / "operator.log").open("ab")
        self.operator = subprocess.Popen(
            [CQLTEST, "operator", "--kubeconfig", str(kube.kubeconfig),
             "--metrics-port", str(self.metrics_port), "--liveness-port", str(self.liveness_port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.api = Kube.connect(kube.kubeconfig)
        time.sleep(3)

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 120) -> str:
        return self.kube.kubectl(*args, input=input, timeout=timeout).stdout

    def apply(self, ns: str, manifest: dict[str, Any]) -> None:
        self.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(manifest))

    def testrun(self, ns: str, name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.kubectl("get", "tr", name, "-n", ns, "-o", "json"))
        return loaded

    # ------------------------------------------------------------------ 1. smoke vs local

    def smoke(self) -> dict[str, Any]:
        manifest = yaml.safe_load((REPO / "manifests" / "examples" / "smoke.yaml").read_text())
        env = {**os.environ, "CQLTEST_HOME": str(self.home / "local")}
        start = time.monotonic()
        subprocess.run(
            [CQLTEST, "run", str(REPO / "manifests" / "examples" / "smoke.yaml"), "-o", "json"],
            env=env, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        local = time.monotonic() - start
        self.kubectl("create", "namespace", "bench-smoke")
        start = time.monotonic()
        self.apply("bench-smoke", manifest)
        self.kubectl(
            "wait", "-n", "bench-smoke", "tr/smoke", "--for=condition=Completed",
            "--timeout=600s", timeout=630,
        )  # fmt: skip
        operator = time.monotonic() - start
        status = self.testrun("bench-smoke", "smoke")["status"]
        cluster, [suite] = status["cluster"], status["suites"]
        ready = (_time(cluster["readyAt"]) - _time(cluster["startedAt"])).total_seconds()
        job_start = (_time(suite["startedAt"]) - _time(cluster["readyAt"])).total_seconds()
        return {
            "phase": status["phase"],
            "local_wall_seconds": round(local, 2),
            "operator_wall_seconds": round(operator, 2),
            "ratio_operator_over_local": round(operator / local, 3),
            "operator_split_seconds": {
                "helm_readiness_and_probe": round(ready, 2),
                "job_start": round(job_start, 2),
                "suite": suite["durationSeconds"],
                "rest": round(operator - ready - job_start - suite["durationSeconds"], 2),
            },
        }

    # ------------------------------------------------------------------ 2. first status patch

    def first_status(
        self, creates: int, ns: str, prefix: str, *, one_at_a_time: bool = False
    ) -> list[float]:
        seen: dict[str, float] = {}
        stop = threading.Event()
        watcher = subprocess.Popen(
            [str(self.kube.binaries["kubectl"]), f"--kubeconfig={self.kube.kubeconfig}",
             "get", "tr", "-n", ns, "-w", "-o", "json"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

        def read() -> None:
            assert watcher.stdout is not None
            buffer = ""
            for line in watcher.stdout:
                buffer += line
                if line.rstrip() != "}":
                    continue
                try:
                    obj = json.loads(buffer)
                except json.JSONDecodeError:
                    continue
                buffer = ""
                name = obj["metadata"]["name"]
                if (obj.get("status") or {}).get("phase") and name not in seen:
                    seen[name] = time.monotonic()
                if stop.is_set():
                    return

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        created: dict[str, float] = {}
        for index in range(creates):
            name = f"{prefix}{index}"
            # Timed from just before the POST (kubectl's own start-up is not the operator's).
            created[name] = time.monotonic()
            self.api.custom.create_namespaced_custom_object(
                "cqltest.dev", "v1alpha1", ns, "testruns", self.held_run(name)
            )
            until = time.monotonic() + 30
            while one_at_a_time and name not in seen and time.monotonic() < until:
                time.sleep(0.005)
        deadline = time.monotonic() + 120
        while len([n for n in created if n in seen]) < creates and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        watcher.terminate()
        return [seen[n] - created[n] for n in created if n in seen]

    @staticmethod
    def held_run(name: str) -> dict[str, Any]:
        return {
            "apiVersion": "cqltest.dev/v1alpha1",
            "kind": "TestRun",
            "metadata": {"name": name},
            "spec": {
                "cluster": {
                    "existing": {"k8ssandraCluster": "never", "localDatacenter": "dc1"},
                    "readyTimeout": "2h",
                },
                "suites": [{"name": "smoke"}],
            },
        }

    def never_ready(self, ns: str) -> None:
        """A K8ssandraCluster the stand-in refuses (it serves 5.0.x only): never ready."""
        self.kubectl("create", "namespace", ns)
        self.apply(ns, {
            "apiVersion": "k8ssandra.io/v1alpha1",
            "kind": "K8ssandraCluster",
            "metadata": {"name": "never"},
            "spec": {"cassandra": {
                "serverVersion": "4.1.8",
                "storageConfig": {"cassandraDataVolumeClaimSpec": {}},
                "datacenters": [{"metadata": {"name": "dc1"}, "size": 1}],
            }},
        })  # fmt: skip

    # ------------------------------------------------------------------ 3. held runs

    def reconcile_quantiles(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        buckets: list[tuple[float, float]] = []
        for family in text_string_to_metric_families(text):
            if family.name == "cqltest_reconcile_seconds":
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        buckets.append((float(sample.labels["le"]), sample.value))
        buckets.sort()
        total = buckets[-1][1] if buckets else 0.0
        result = {"reconciles": total}
        for q in (0.5, 0.99):
            result[f"p{int(q * 100)}_le_seconds"] = next(
                (bound for bound, count in buckets if count >= q * total), float("inf")
            )
        return result

    def rss_mb(self) -> float:
        process = psutil.Process(self.operator.pid)
        return round(process.memory_info().rss / 2**20, 1)

    def close(self) -> None:
        self.api.close()
        self.operator.terminate()
        try:
            self.operator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.operator.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=50)
    parser.add_argument("--held", type=int, default=500)
    parser.add_argument("--no-smoke", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cqltest-opbench-") as tmp:
        home = Path(tmp)
        os.environ["CQLTEST_HOME"] = str(home)
        kube = up("opbench", owned=True, root=home / "localkube")
        bench = None
        try:
            kube.kubectl("apply", "-f", str(CRD))
            bench = Bench(kube, home)
            report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
            if not args.no_smoke:
                report["smoke"] = bench.smoke()
            bench.never_ready("bench-held")
            rss_idle = bench.rss_mb()
            for mode, one in (("one_at_a_time", True), ("burst", False)):
                latencies = bench.first_status(
                    args.creates, "bench-held", f"{mode[:5].replace('_', '')}-", one_at_a_time=one
                )
                report[f"first_status_seconds_{mode}"] = {
                    "creates": args.creates,
                    "seen": len(latencies),
                    "p50": round(statistics.median(latencies), 3),
                    "p99": round(_quantile(latencies, 0.99), 3),
                }
            more = bench.first_status(args.held - 2 * args.creates, "bench-held", "held-")
            time.sleep(30)  # a few reconcile rounds of every held run
            report["held"] = {
                "runs": args.held,
                "with_status": 2 * args.creates + len(more),
                "operator_rss_mb_idle": rss_idle,
                "operator_rss_mb_held": bench.rss_mb(),
                **bench.reconcile_quantiles(),
            }
            print(json.dumps(report, indent=2))
        finally:
            if bench is not None:
                bench.close()
            kube.down()


if __name__ == "__main__":
    main()
