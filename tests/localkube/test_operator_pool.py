"""The warm-cluster pool in operator mode, end to end on localkube with the real operator.

Runs with ``spec.cluster.reuse: true`` in one namespace share one pooled K8ssandraCluster:
the first provisions it into the pool, the next ones claim it warm (reset in between by a
``cqlsuites reset`` Job), a run over the pool's capacity waits with a message saying so, and a
run deleted mid-way gives its claim back, and the operator retires the cluster once it has
been idle past its ``idleTtl``; ``cqltest pool list --kube`` shows each state on the way. A
pooled cluster with authentication and TLS keeps its Secrets past the run that provisioned it,
and the next run's reset logs in over TLS. Times
are reported, never asserted (the machine is shared). Whatever is left at the end is pruned
with ``cqltest pool prune --kube --all``, so no Cassandra outlives the module.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from agentkit import wait_for
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cqltest.engine.names import LABEL_TESTRUN, label_value
from cqltest.localkube.instance import Localkube
from cqltest.model.claims import (
    ANNOTATION_BASELINE,
    ANNOTATION_CLAIMED_BY,
    ANNOTATION_DIRTY,
    ANNOTATION_IDLE_SINCE,
    LABEL_POOL,
)
from cqltest.render.tls import CA_KEY
from operatorkit import (
    CQLTEST,
    Operator,
    apply,
    example,
    get_testrun,
    items,
    module_operator,
    new_namespace,
    wait_condition,
    wait_gone,
)

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(900)]

POLICY = {"maxPerShape": 1, "idleTtl": "10m", "claimTimeout": "5m"}


@pytest.fixture(scope="module")
def operator(localkube: Localkube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    with module_operator(localkube, "pool-*", tmp_path_factory) as running:
        yield running


def pooled_smoke(name: str, **policy: str) -> dict[str, Any]:
    manifest = example("smoke.yaml")
    manifest["metadata"] = {"name": name}
    cluster = manifest["spec"]["cluster"]
    cluster.update(reuse=True, poolPolicy={**POLICY, **policy})
    cluster.pop("teardown", None)
    return manifest


def k8ssandra_clusters(localkube: Localkube, namespace: str) -> list[dict[str, Any]]:
    return items(localkube, "k8ssandraclusters", namespace, LABEL_POOL)


def pool_cli(localkube: Localkube, namespace: str, *args: str) -> list[dict[str, Any]]:
    """``cqltest pool <args> --kube -n <namespace> -o json``, as a user runs it."""
    argv = [CQLTEST, "pool", *args, "--kube", "-n", namespace, "-o", "json"]
    argv += ["--kubeconfig", str(localkube.kubeconfig)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=True)
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def node_ip(cluster: dict[str, Any]) -> str:
    dc = cluster["status"]["datacenters"]["dc1"]["cassandra"]["nodeStatuses"]
    [node] = dc.values()
    return str(node["ip"])


def plain(address: str) -> Cluster:
    return Cluster([address], connect_timeout=10)


def keyspaces(driver: Cluster) -> set[str]:
    """The keyspaces ``driver`` (not connected yet, shut down after) sees."""
    try:
        rows = driver.connect().execute("SELECT keyspace_name FROM system_schema.keyspaces")
        return {row.keyspace_name for row in rows}
    finally:
        driver.shutdown()


def create_keyspace(driver: Cluster, name: str) -> None:
    try:
        driver.connect().execute(
            f"CREATE KEYSPACE {name} WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 1}",
            timeout=60,
        )
    finally:
        driver.shutdown()


def provisioning_seconds(run: dict[str, Any]) -> float:
    cluster = run["status"]["cluster"]
    started, ready = (
        datetime.fromisoformat(cluster[k].replace("Z", "+00:00")) for k in ("startedAt", "readyAt")
    )
    return (ready - started).total_seconds()


def test_runs_share_a_pooled_cluster_serialised_reset_and_released(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "pool")
    try:
        apply(localkube, ns, pooled_smoke("first"))
        first = wait_condition(localkube, ns, "first", "Succeeded", 420, operator)
        cold = provisioning_seconds(first)
        [pooled] = k8ssandra_clusters(localkube, ns)
        name = pooled["metadata"]["name"]
        assert first["status"]["cluster"]["name"] == name
        assert name.startswith("pool-default-")
        notes = pooled["metadata"]["annotations"]
        assert ANNOTATION_CLAIMED_BY not in notes
        assert notes[ANNOTATION_DIRTY] == "true"
        assert ANNOTATION_IDLE_SINCE in notes
        assert ANNOTATION_BASELINE in notes
        assert not pooled["metadata"].get("ownerReferences")
        pods = items(localkube, "pods", ns, f"{LABEL_POOL}=default")
        assert pods, "the pooled cluster's node pods carry no cqltest.dev/pool label"

        # what a careless suite leaves behind, for the next claimant's reset to drop
        address = node_ip(pooled)
        create_keyspace(plain(address), "left_behind")
        assert "left_behind" in keyspaces(plain(address))

        apply(localkube, ns, pooled_smoke("second"))

        def claimed() -> bool:
            time.sleep(1)  # each look is a few kubectl processes on a shared machine
            run = get_testrun(localkube, ns, "second") or {}
            return ((run.get("status") or {}).get("cluster") or {}).get("name") == name or any(
                ANNOTATION_CLAIMED_BY in (c["metadata"].get("annotations") or {})
                for c in k8ssandra_clusters(localkube, ns)
            )

        wait_for("second claims the pooled cluster", claimed, timeout=120)
        apply(localkube, ns, pooled_smoke("third"))

        def third_waits() -> str | None:
            time.sleep(1)
            run = get_testrun(localkube, ns, "third") or {}
            message = str((run.get("status") or {}).get("message"))
            return message if "waiting for pool default capacity" in message else None

        waiting = wait_for("third waits for the pool", third_waits, timeout=120)
        assert f"1/1 clusters of this shape claimed by {ns}/second" in waiting

        second = wait_condition(localkube, ns, "second", "Succeeded", 300, operator)
        assert second["status"]["cluster"]["name"] == name
        warm = provisioning_seconds(second)
        assert "left_behind" not in keyspaces(plain(address))

        third = wait_condition(localkube, ns, "third", "Succeeded", 300, operator)
        assert third["status"]["cluster"]["name"] == name
        assert len(k8ssandra_clusters(localkube, ns)) == 1
        print(f"\npool: cold provisioning {cold:.1f}s, warm claim + reset {warm:.1f}s")
        [row] = pool_cli(localkube, ns, "list")
        assert (row["cluster"], row["state"], row["dirty"], row["claimant"]) == (
            name,
            "idle",
            True,
            None,
        )

        # a run deleted mid-way gives the cluster back, and it is retired after its idleTtl
        apply(localkube, ns, pooled_smoke("fourth", idleTtl="20s"))

        def running() -> bool:
            time.sleep(1)
            run = get_testrun(localkube, ns, "fourth") or {}
            return (run.get("status") or {}).get("phase") == "Running"

        wait_for("fourth running", running, timeout=180)
        [held] = pool_cli(localkube, ns, "list")
        assert (held["state"], held["claimant"]) == ("claimed", f"{ns}/fourth")
        localkube.kubectl("delete", "tr", "fourth", "-n", ns, "--wait=true", timeout=120)
        [after] = k8ssandra_clusters(localkube, ns)
        assert ANNOTATION_CLAIMED_BY not in (after["metadata"].get("annotations") or {})
        assert ANNOTATION_IDLE_SINCE in after["metadata"]["annotations"]
        released = time.monotonic()
        wait_gone(localkube, "k8ssandraclusters", ns, LABEL_POOL, timeout=120)
        assert not pool_cli(localkube, ns, "list")
        print(f"pool: idle cluster retired {time.monotonic() - released:.0f}s after release")
    finally:
        pool_cli(localkube, ns, "prune", "--all")
        wait_gone(localkube, "pods", ns, f"{LABEL_POOL}=default", timeout=180)


def secure(localkube: Localkube, namespace: str, cluster: dict[str, Any]) -> Cluster:
    """A driver for a pooled auth + TLS cluster, from the secrets in its namespace:
    the superuser the stand-in serves, the CA the operator made for the cluster."""
    release = cluster["metadata"]["name"]
    user = json.loads(
        localkube.kubectl(
            "get", "secret", f"{release}-superuser", "-n", namespace, "-o", "json"
        ).stdout
    )["data"]
    labelled = items(localkube, "secrets", namespace, f"{LABEL_TESTRUN}={label_value(release)}")
    [ca] = [s["data"][CA_KEY] for s in labelled if CA_KEY in s["data"]]
    context = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
    context.check_hostname = False  # the stores name the services, not the node's address
    username, password = (base64.b64decode(user[k]).decode() for k in ("username", "password"))
    return Cluster(
        [node_ip(cluster)],
        auth_provider=PlainTextAuthProvider(username, password),
        ssl_context=context,
        connect_timeout=10,
    )


def test_a_pooled_cluster_with_authentication_and_tls_serves_the_next_run_warm(
    localkube: Localkube, operator: Operator
) -> None:
    """Security is part of a pooled cluster's shape, and its Secrets belong to the cluster,
    not to the run that provisioned it: once that run is deleted, the next run claims the
    cluster warm, its reset Job logs in over TLS and drops what was left behind, and pruning
    the pool leaves no Secret of it."""
    ns = new_namespace(localkube, "pool-tls")
    security = {"authentication": True, "tls": {"client": True, "internode": True}}

    def secure_smoke(name: str) -> dict[str, Any]:
        manifest = pooled_smoke(name)
        manifest["spec"]["cluster"]["security"] = security
        return manifest

    release = None
    try:
        apply(localkube, ns, secure_smoke("secure-first"))
        first = wait_condition(localkube, ns, "secure-first", "Succeeded", 420, operator)
        [pooled] = k8ssandra_clusters(localkube, ns)
        release = pooled["metadata"]["name"]
        localkube.kubectl("delete", "tr", "secure-first", "-n", ns, "--wait=true", timeout=120)
        create_keyspace(secure(localkube, ns, pooled), "left_behind")

        apply(localkube, ns, secure_smoke("secure-second"))
        second = wait_condition(localkube, ns, "secure-second", "Succeeded", 420, operator)
        assert second["status"]["cluster"]["name"] == release
        assert "left_behind" not in keyspaces(secure(localkube, ns, pooled))
        print(
            f"\npool (auth + TLS): cold {provisioning_seconds(first):.1f}s, "
            f"warm claim + reset {provisioning_seconds(second):.1f}s"
        )
    finally:
        pool_cli(localkube, ns, "prune", "--all")
        wait_gone(localkube, "pods", ns, f"{LABEL_POOL}=default", timeout=180)
    assert release is not None
    assert not items(localkube, "secrets", ns, f"{LABEL_TESTRUN}={label_value(release)}")

    def superuser_gone() -> bool:  # owned by the K8ssandraCluster: the garbage collector's
        return all(
            s["metadata"]["name"] != f"{release}-superuser" for s in items(localkube, "secrets", ns)
        )

    wait_for("the pooled cluster's superuser Secret gone", superuser_gone, timeout=120)
