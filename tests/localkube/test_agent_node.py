"""The node agent as the control plane sees it: its Node, restarts, streamed logs, and the pods
it must leave alone.

Real components only: the localkube's apiserver, controller manager, scheduler and node agent.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agentkit import apply, finished_pod, get, pod, wait_for
from cqltest.localkube.instance import Localkube

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]


def test_the_node_is_ready_untainted_and_sized_from_this_machine(localkube: Localkube) -> None:
    node = get(localkube, f"/api/v1/nodes/{localkube.node}")
    assert not node["spec"].get("taints")
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True"
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "127.0.0.1"}
    assert node["status"]["allocatable"]["pods"] == "110"
    assert int(node["status"]["allocatable"]["cpu"]) >= 1
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    assert port == localkube.ports["kubelet"]
    lease = get(
        localkube,
        f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{localkube.node}",
    )
    assert lease["spec"]["holderIdentity"] == localkube.node


def test_on_failure_restarts_and_previous_logs(localkube: Localkube, namespace: str) -> None:
    # Fails on its first run, succeeds on the second (the working directory is per pod).
    script = "if [ -f ran ]; then echo second; exit 0; fi; touch ran; echo first; exit 1"
    manifest = pod("flaky", {"command": ["sh", "-c", script]})
    manifest["spec"]["restartPolicy"] = "OnFailure"
    apply(localkube, namespace, manifest)
    done = finished_pod(localkube, namespace, "flaky")
    assert done["status"]["phase"] == "Succeeded"
    status = done["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert localkube.kubectl("logs", "-n", namespace, "flaky").stdout == "second\n"
    previous = localkube.kubectl("logs", "-n", namespace, "flaky", "--previous").stdout
    assert previous == "first\n"


def test_kubectl_logs_follow_streams_until_the_container_exits(
    localkube: Localkube, namespace: str
) -> None:
    script = "for i in 1 2 3 4 5; do echo tick $i; sleep 0.4; done"
    apply(localkube, namespace, pod("ticker", {"command": ["sh", "-c", script]}))
    wait_for(
        "ticker running",
        lambda: (
            get(localkube, f"/api/v1/namespaces/{namespace}/pods/ticker")["status"].get("phase")
            == "Running"
        ),
    )
    started = time.monotonic()
    followed = localkube.kubectl("logs", "-n", namespace, "-f", "ticker").stdout
    assert followed == "".join(f"tick {i}\n" for i in range(1, 6))
    assert time.monotonic() - started > 0.5  # it streamed, not a snapshot after the end


def test_stand_in_pods_are_left_alone_but_their_log_file_is_served(
    localkube: Localkube, namespace: str, tmp_path: Path
) -> None:
    system_log = tmp_path / "system.log"
    system_log.write_text("INFO  Startup complete\n")
    manifest = pod("cassandra-like", {"command": ["sh", "-c", "exit 1"]})
    manifest["metadata"]["annotations"] = {
        "localkube.cqltest.dev/stand-in": "k8ssandra",
        "localkube.cqltest.dev/log-file": str(system_log),
    }
    manifest["spec"]["nodeName"] = localkube.node
    apply(localkube, namespace, manifest)
    time.sleep(1.5)
    status = get(localkube, f"/api/v1/namespaces/{namespace}/pods/cassandra-like")["status"]
    assert status.get("phase") == "Pending"
    assert not status.get("containerStatuses")
    served = localkube.kubectl("logs", "-n", namespace, "cassandra-like").stdout
    assert served == "INFO  Startup complete\n"


def test_a_program_that_does_not_exist_fails_with_start_error(
    localkube: Localkube, namespace: str
) -> None:
    apply(localkube, namespace, pod("missing", {"command": ["no-such-program-here"]}))
    done = finished_pod(localkube, namespace, "missing")
    assert done["status"]["phase"] == "Failed"
    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (128, "StartError")
    assert "executable file not found" in terminated["message"]
