"""Jobs through the real Job controller, run by the node agent as local processes.

Real components only: the localkube's apiserver, controller manager, scheduler and node agent.
"""

from __future__ import annotations

import time

import pytest
from agentkit import apply, finished_pod, job, job_condition, job_pods, logs, wait_for
from cqltest.localkube.instance import Localkube

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]

PRINT_AND_EXIT = ["python3", "-c", "print('hello from localkube'); [print(i) for i in range(5)]"]


def test_a_job_completes_and_kubectl_logs_shows_its_output(
    localkube: Localkube, namespace: str
) -> None:
    apply(localkube, namespace, job("hello", PRINT_AND_EXIT))
    localkube.kubectl(
        "wait", "-n", namespace, "--for=condition=complete", "job/hello", "--timeout=60s"
    )
    [pod] = job_pods(localkube, namespace, "hello")
    assert pod["status"]["phase"] == "Succeeded"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert logs(localkube, namespace, "job/hello") == "hello from localkube\n0\n1\n2\n3\n4\n"
    assert logs(localkube, namespace, "job/hello", "--tail=2") == "3\n4\n"
    assert logs(localkube, namespace, "job/hello", "--since=1h", "--limit-bytes=5") == "hello"


def test_a_failing_command_fails_the_job_with_its_exit_code_and_message(
    localkube: Localkube, namespace: str
) -> None:
    command = ["sh", "-c", "echo 'it broke' > /dev/termination-log; echo to the log; exit 3"]
    apply(localkube, namespace, job("broken", command))
    localkube.kubectl(
        "wait", "-n", namespace, "--for=condition=failed", "job/broken", "--timeout=60s"
    )
    [pod] = job_pods(localkube, namespace, "broken")
    pod = finished_pod(localkube, namespace, pod["metadata"]["name"])
    assert pod["status"]["phase"] == "Failed"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 3
    assert terminated["reason"] == "Error"
    assert terminated["message"] == "it broke\n"


def test_fallback_to_logs_on_error_uses_the_log_tail(localkube: Localkube, namespace: str) -> None:
    command = ["sh", "-c", "echo first; echo last words; exit 1"]
    manifest = job("fallback", command)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["terminationMessagePolicy"] = "FallbackToLogsOnError"
    apply(localkube, namespace, manifest)
    pod = wait_for("the job's pod", lambda: job_pods(localkube, namespace, "fallback"))[0]
    pod = finished_pod(localkube, namespace, pod["metadata"]["name"])
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["message"] == "first\nlast words\n"


def test_active_deadline_kills_a_sleeping_command(localkube: Localkube, namespace: str) -> None:
    started = time.monotonic()
    apply(
        localkube,
        namespace,
        job("sleeper", ["sleep", "300"], pod_spec={"activeDeadlineSeconds": 2}),
    )
    pod = wait_for("the job's pod", lambda: job_pods(localkube, namespace, "sleeper"))[0]
    pod = finished_pod(localkube, namespace, pod["metadata"]["name"])
    assert time.monotonic() - started < 30
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["reason"] == "DeadlineExceeded"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 128 + 15  # SIGTERM, as runc reports it
    wait_for("job failed", lambda: job_condition(localkube, namespace, "sleeper", "Failed"))


def test_deleting_the_job_cascades_to_its_running_pod(localkube: Localkube, namespace: str) -> None:
    apply(localkube, namespace, job("doomed", ["sleep", "300"]))

    def running() -> bool:
        pods = job_pods(localkube, namespace, "doomed")
        return bool(pods) and pods[0]["status"].get("phase") == "Running"

    wait_for("the job's pod running", running)
    localkube.kubectl(
        "delete", "-n", namespace, "job/doomed", "--cascade=foreground", "--wait=false"
    )
    wait_for("pods gone", lambda: not job_pods(localkube, namespace, "doomed"), timeout=60)


def test_deleting_an_owner_configmap_cascades_to_jobs_and_pods(
    localkube: Localkube, namespace: str
) -> None:
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}}
    apply(localkube, namespace, owner)
    status, cm = localkube.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/owner")
    assert status == 200
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": cm["metadata"]["uid"],
    }
    apply(
        localkube,
        namespace,
        job("owned", ["sleep", "300"], metadata={"ownerReferences": [reference]}),
    )
    wait_for("the owned job's pod", lambda: job_pods(localkube, namespace, "owned"))
    localkube.kubectl("delete", "-n", namespace, "configmap/owner", "--wait=false")

    def all_gone() -> bool:
        status, _ = localkube.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/owned")
        return status == 404 and not job_pods(localkube, namespace, "owned")

    wait_for("job and pods collected", all_gone, timeout=90)
