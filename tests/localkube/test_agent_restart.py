"""A second node agent of its own, so the test can stop, kill and restart it.

Its Node is created beforehand with a taint only the test's pods tolerate, so the scheduler
never sends other tests' pods to an agent that is about to be killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentkit import apply, get, pod, wait_for
from cqltest.localkube.instance import Localkube
from cqltest.localkube.processes import free_port

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]

TAINT = {"key": "localkube.cqltest.dev/test-only", "value": "restart", "effect": "NoSchedule"}


class Agent:
    def __init__(self, localkube: Localkube, node: str, state_dir: Path) -> None:
        self.argv = [
            sys.executable, "-m", "cqltest.localkube.agent", "--kubeconfig",
            str(localkube.kubeconfig), "--node", node, "--state-dir", str(state_dir),
            "--kubelet-port", str(free_port()),
        ]  # fmt: skip
        self.log = state_dir / "agent.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)

    def signal(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)


@pytest.fixture
def second_agent(localkube: Localkube, tmp_path: Path) -> Iterator[tuple[Agent, str]]:
    node = f"restart-{os.getpid()}"
    localkube.request(
        "POST",
        "/api/v1/nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node},
            "spec": {"taints": [TAINT]},
        },
    )
    agent = Agent(localkube, node, tmp_path)
    agent.start()
    try:
        yield agent, node
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.signal(signal.SIGTERM)
        # No agent will finish these pods' deletion (nor the namespace's): force it.
        localkube.kubectl(
            "delete", "pods", "-A", f"--field-selector=spec.nodeName={node}",
            "--grace-period=0", "--force", check=False,
        )  # fmt: skip
        localkube.request("DELETE", f"/api/v1/nodes/{node}")


def sleeper(name: str, node: str, policy: str) -> dict[str, object]:
    manifest = pod(name, {"command": ["sleep", "300"]}, nodeName=node)
    manifest["spec"]["restartPolicy"] = policy
    manifest["spec"]["tolerations"] = [{"operator": "Exists"}]
    return manifest


def phase_and_pid(localkube: Localkube, namespace: str, name: str) -> tuple[str, str]:
    status = get(localkube, f"/api/v1/namespaces/{namespace}/pods/{name}")["status"]
    container_id = ""
    for container in status.get("containerStatuses") or []:
        container_id = container.get("containerID", "")
    return str(status.get("phase")), container_id


def test_a_restarted_agent_fails_lost_pods_and_reruns_restartable_ones(
    localkube: Localkube, namespace: str, second_agent: tuple[Agent, str]
) -> None:
    agent, node = second_agent
    apply(localkube, namespace, sleeper("once", node, "Never"), sleeper("always", node, "Always"))
    for name in ("once", "always"):
        wait_for(
            f"{name} running", lambda n=name: phase_and_pid(localkube, namespace, n)[0] == "Running"
        )
    _, first_id = phase_and_pid(localkube, namespace, "always")
    leftover_pids = [
        int(phase_and_pid(localkube, namespace, n)[1].rsplit("/", 1)[1]) for n in ("once", "always")
    ]

    assert agent.signal(signal.SIGKILL) == -signal.SIGKILL  # its pods keep running, unsupervised
    agent.start()

    def once_failed() -> dict[str, object] | None:
        status = get(localkube, f"/api/v1/namespaces/{namespace}/pods/once")["status"]
        return status if status.get("phase") == "Failed" else None

    status = wait_for("the lost Never pod failed", once_failed)
    assert status["reason"] == "NodeAgentRestarted"
    wait_for(
        "the Always pod rerun",
        lambda: (
            (p := phase_and_pid(localkube, namespace, "always"))[0] == "Running"
            and p[1] != first_id
        ),
    )
    for pid in leftover_pids:  # the previous agent's processes were killed
        wait_for(
            f"pid {pid} gone", lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid)
        )

    # SIGTERM: every pod process stopped, exit 0.
    _, current = phase_and_pid(localkube, namespace, "always")
    pid = int(current.rsplit("/", 1)[1])
    assert agent.signal(signal.SIGTERM) == 0
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
