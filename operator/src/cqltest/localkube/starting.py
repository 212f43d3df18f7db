"""What a localkube adds to the control plane, started in order, each step waited for.

:func:`cqltest.localkube.instance.up` starts the control plane
(:mod:`cqltest.localkube.controlplane`), then hands the localkube to :func:`start_components`:
the CRDs it serves, the two stand-ins (node agent, K8ssandra stand-in), readiness (the
``default`` ServiceAccount, a schedulable Node) and, if asked, the TestRun operator. Each
process is recorded in the state file as soon as it is spawned, so a ``down`` (or a reaper)
finds it even if ``up`` dies next; each wait fails at once, with the log of the component that
exited, rather than at its timeout.
"""

from __future__ import annotations

import sys
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cqltest.localkube import processes
from cqltest.localkube.errors import NotReadyError
from cqltest.localkube.processes import free_port

if TYPE_CHECKING:
    from cqltest.localkube.instance import Localkube

AGENT = "node-agent"
K8SSANDRA = "k8ssandra-stand-in"
#: Processes that clean up after themselves on SIGTERM and need the apiserver to do it.
STAND_INS = (AGENT, K8SSANDRA)
OPERATOR = "cqltest-operator"
"""The TestRun operator, when ``up(operator=True)`` runs it as one more component."""
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def start_components(local: Localkube, *, timeout: float, operator: bool) -> None:
    """Everything after the control plane, until a Pod could be scheduled (and TestRuns are
    served, with ``operator``). Raises ComponentError or NotReadyError; the caller takes the
    localkube down."""
    apply_crds(local, timeout)
    start_stand_ins(local)
    wait_for(local, "the default ServiceAccount", lambda: service_account_ready(local), timeout)
    wait_for(local, f"a schedulable Node {local.node!r}", lambda: node_ready(local), timeout)
    if operator:
        start_operator(local, timeout)


def served_crds() -> list[dict[str, Any]]:
    """Every CRD localkube serves: the K8ssandra stand-in's K8ssandraCluster."""
    # Imported here: the stand-in's package is only needed when a localkube starts.
    from cqltest.localkube.k8ssandra import crd

    return [crd.manifest()]


def apply_crds(local: Localkube, timeout: float) -> None:
    """Create every CRD localkube serves and wait until the apiserver serves it."""
    for manifest in served_crds():
        crd_name = manifest["metadata"]["name"]
        status, answer = local.request("POST", CRDS, manifest)
        if status != 201:
            raise NotReadyError(f"creating CRD {crd_name} answered {status}: {answer}")

        def established(path: str = f"{CRDS}/{crd_name}") -> bool:
            _, crd = local.request("GET", path)
            conditions = (crd or {}).get("status", {}).get("conditions") or []
            return any(
                c.get("type") == "Established" and c.get("status") == "True" for c in conditions
            )

        wait_for(local, f"CRD {crd_name} Established", established, timeout)


def start_stand_ins(local: Localkube) -> None:
    local.ports["kubelet"] = free_port()
    common = ["--kubeconfig", str(local.kubeconfig), "--node", local.node,
              "--state-dir", str(local.root)]  # fmt: skip
    commands = {
        AGENT: ["cqltest.localkube.agent", *common, "--kubelet-port", str(local.ports["kubelet"])],
        K8SSANDRA: ["cqltest.localkube.k8ssandra", *common],
    }
    for name, args in commands.items():
        argv = [sys.executable, "-m", *args]
        local.processes.append(processes.spawn(name, argv, local.root / f"{name}.log"))
        local.save()


def start_operator(local: Localkube, timeout: float) -> None:
    """Serve TestRuns: apply their CRD and run ``cqltest operator`` against this localkube."""
    from cqltest.render.crd import render_crd

    status, answer = local.request("POST", CRDS, render_crd())
    if status not in (201, 409):
        raise NotReadyError(f"creating the TestRun CRD answered {status}: {answer}")
    local.ports["operator-liveness"] = free_port()
    local.ports["operator-metrics"] = free_port()
    argv = [
        sys.executable, "-m", "cqltest", "operator", "--kubeconfig", str(local.kubeconfig),
        "--liveness-port", str(local.ports["operator-liveness"]),
        "--metrics-port", str(local.ports["operator-metrics"]),
    ]  # fmt: skip
    local.processes.append(processes.spawn(OPERATOR, argv, local.root / f"{OPERATOR}.log"))
    local.save()
    port = local.ports["operator-liveness"]
    wait_for(local, "the TestRun operator's /healthz", lambda: _healthy(port), timeout)


def wait_for(local: Localkube, what: str, ready: Callable[[], bool], timeout: float) -> None:
    """Poll ``ready()`` until true, failing fast (with its log) if a component exits."""
    deadline = time.monotonic() + timeout
    while True:
        for process in local.processes:
            if not process.alive():
                raise process.exited()
        if ready():
            return
        if time.monotonic() > deadline:
            agent = [p for p in local.processes if p.name == AGENT]
            hint = f"; node agent log:\n{agent[0].tail()}" if agent else ""
            raise NotReadyError(f"localkube {local.name!r}: still waiting for {what} after "
                                f"{timeout:.0f}s{hint}")  # fmt: skip
        time.sleep(processes.POLL)


def service_account_ready(local: Localkube) -> bool:
    status, _ = local.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")
    return status == 200


def node_ready(local: Localkube) -> bool:
    status, node = local.request("GET", f"/api/v1/nodes/{local.node}")
    return status == 200 and node_schedulable(node)


def node_schedulable(node: dict[str, Any]) -> bool:
    """What the scheduler needs of the only Node: no taints, not cordoned, room for pods."""
    spec = node.get("spec") or {}
    pods = (node.get("status") or {}).get("allocatable", {}).get("pods", "0")
    return not spec.get("taints") and not spec.get("unschedulable") and int(pods) > 0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
