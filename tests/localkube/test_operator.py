"""The operator end to end on localkube: real apiserver, Job controller, node agent, Cassandra.

One `cqltest operator` process serves every `op-*` namespace for the module; each test applies
example manifests with kubectl into its own namespace and checks what a platform team would:
`kubectl wait`, `kubectl get tr`, Events, the report ConfigMap, /metrics, and that nothing of
the run is left behind. The outcomes are the ones `cqltest run` gives for the same manifests
(tests/cassandra/test_run_examples.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from agentkit import wait_for
from cqltest.engine.names import report_name
from cqltest.localkube.instance import Localkube
from operatorkit import (
    EXAMPLES,
    Operator,
    apply,
    example,
    get_testrun,
    items,
    new_namespace,
    running_operator,
    scrape,
    suites,
    wait_completed,
    wait_condition,
    wait_gone,
)
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def crd(localkube: Localkube) -> None:
    localkube.kubectl("apply", "-f", str(REPO_CRD))
    localkube.kubectl(
        "wait", "--for=condition=Established", "crd/testruns.cqltest.dev", "--timeout=60s"
    )


REPO_CRD = EXAMPLES.parent / "crds" / "testruns.cqltest.dev.yaml"


@pytest.fixture(scope="module")
def operator(
    localkube: Localkube, crd: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with running_operator(localkube, "op-*", log) as running:
        yield running


def test_smoke_succeeds_and_reports_like_a_cluster(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "op-smoke")
    apply(localkube, ns, example("smoke.yaml"))
    run = wait_condition(localkube, ns, "smoke", "Succeeded", 300, operator)
    status = run["status"]
    assert status["phase"] == "Succeeded", status
    assert status["observedGeneration"] == run["metadata"]["generation"]
    smoke = suites(run)["smoke"]
    assert smoke["phase"] == "Passed"
    assert smoke["tests"]["passed"] == smoke["tests"]["total"] >= 8
    assert smoke["metrics"]["operations"] > 0
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    # ClusterReady turns False again once teardown: Always has removed the cluster.
    assert conditions == {"ClusterReady": "False", "Completed": "True", "Succeeded": "True"}

    table = localkube.kubectl("get", "tr", "-n", ns).stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "PHASE", "SUITES"]
    assert table[1].split()[:3] == ["smoke", "Succeeded", "1/1"]

    # Exactly one Job for the one attempt, labelled for selection, owned by the run.
    [job] = items(localkube, "jobs", ns, "cqltest.dev/component=suite")
    assert job["metadata"]["name"] == "smoke-smoke-a1"
    assert job["metadata"]["labels"]["cqltest.dev/suite"] == "smoke"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "TestRun"

    events = items(localkube, "events", ns)
    reasons = [e["reason"] for e in events if e["involvedObject"]["name"] == "smoke"]
    for reason in ("Provisioning", "Running", "SuiteRunning", "SuitePassed", "Succeeded"):
        assert reason in reasons, reasons

    [report] = [
        cm
        for cm in items(localkube, "configmaps", ns)
        if cm["metadata"]["name"] == report_name("smoke")
    ]
    assert "smoke.a1.json" in report["data"]
    assert 'name="smoke"' in report["data"]["junit.xml"]

    # teardown: Always — the release's K8ssandraCluster and its Cassandra node go.
    wait_gone(localkube, "k8ssandraclusters", ns, None)

    families = {f.name: f for f in text_string_to_metric_families(scrape(operator))}
    phases = {s.labels["phase"]: s.value for s in families["cqltest_testruns"].samples}
    assert phases["Succeeded"] >= 1
    assert "cqltest_reconcile_seconds" in families


def test_dag_ends_failed_with_the_same_suite_phases_as_local_mode(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "op-dag")
    apply(localkube, ns, example("dag.yaml"))
    run = wait_completed(localkube, ns, "dag", 600, operator)
    assert run["status"]["phase"] == "Failed"
    found = suites(run)
    assert {name: s["phase"] for name, s in found.items()} == {
        "schema": "Passed",
        "broken": "Failed",
        "reads": "Passed",
        "writes": "Passed",
        "after-broken": "Skipped",
        "summary": "Passed",
    }
    assert "broken" in found["after-broken"]["reason"]
    [threshold] = found["broken"]["thresholds"]
    assert threshold["metric"] == "minOpsPerSecond"
    assert threshold["ok"] is False
    conditions = {c["type"]: c["status"] for c in run["status"]["conditions"]}
    assert conditions["Succeeded"] == "False"
    jobs = items(localkube, "jobs", ns, "cqltest.dev/component=suite")
    assert sorted(j["metadata"]["name"] for j in jobs) == sorted(
        f"dag-{suite}-a1" for suite in ("schema", "broken", "reads", "writes", "summary")
    )


@pytest.mark.parametrize(
    ("manifest", "phrase"),
    [
        ("unknown-field.yaml", "unknown field"),
        ("datacenter-size-zero.yaml", "spec.cluster.datacenters[0].size"),
    ],
)
def test_the_crd_rejects_bad_input_at_apply(
    localkube: Localkube, crd: None, manifest: str, phrase: str
) -> None:
    ns = new_namespace(localkube, "op-bad")
    result = localkube.kubectl(
        "apply", "-n", ns, "-f", str(EXAMPLES / "invalid" / manifest), check=False
    )
    assert result.returncode != 0
    assert phrase in result.stderr, result.stderr
    assert items(localkube, "testruns", ns) == []


def test_semantic_problems_make_the_run_invalid_and_create_nothing(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "op-invalid")
    cycle = example("invalid/cycle.yaml")
    apply(localkube, ns, cycle)
    path_suite = example("smoke.yaml")
    path_suite["metadata"] = {"name": "local-only"}
    path_suite["spec"]["suites"] = [{"name": "mine", "path": "suites/failing"}]
    apply(localkube, ns, path_suite)
    for name, phrase in ((cycle["metadata"]["name"], "cycle"), ("local-only", "local mode")):
        run = wait_completed(localkube, ns, name, 60, operator)
        assert run["status"]["phase"] == "Invalid"
        assert phrase in run["status"]["message"], run["status"]["message"]
    assert items(localkube, "jobs", ns) == []
    assert items(localkube, "k8ssandraclusters", ns) == []
    helm_secrets = items(localkube, "secrets", ns, "owner=helm")
    assert helm_secrets == []


def test_a_spec_edit_is_refused(localkube: Localkube, crd: None) -> None:
    ns = new_namespace(localkube, "nop-immutable")  # no operator here: admission only
    apply(localkube, ns, example("smoke.yaml"))
    edited = example("smoke.yaml")
    edited["spec"]["parallelism"] = 2
    result = localkube.kubectl(
        "apply", "-n", ns, "-f", "-", input=yaml.safe_dump(edited), check=False
    )
    assert result.returncode != 0
    assert "immutable" in result.stderr, result.stderr


def _wait_for_jobs(localkube: Localkube, ns: str, count: int) -> None:
    wait_for(
        f"{count} suite Job(s) in {ns}",
        lambda: len(items(localkube, "jobs", ns, "cqltest.dev/component=suite")) >= count,
        timeout=300,
    )


def test_killed_operator_resumes_without_duplicate_jobs(
    localkube: Localkube, crd: None, tmp_path: Path
) -> None:
    ns = new_namespace(localkube, "rs")
    manifest = example("smoke.yaml")
    manifest["spec"]["suites"] = [
        {"name": "first", "suite": "smoke"},
        {"name": "second", "suite": "smoke", "dependsOn": ["first"]},
    ]
    log = tmp_path / "operator.log"
    operator = running_operator(localkube, "rs-*", log)
    with operator as first:
        apply(localkube, ns, manifest)
        wait_for(
            "provisioning started",
            lambda: (
                (get_testrun(localkube, ns, "smoke") or {}).get("status", {}).get("phase")
                == "Provisioning"
            ),
            timeout=60,
        )
        first.kill()  # during provisioning
    with running_operator(localkube, "rs-*", log) as second:
        _wait_for_jobs(localkube, ns, 1)
        second.kill()  # mid-wave: the first suite's Job exists
    with running_operator(localkube, "rs-*", log):
        run = wait_completed(localkube, ns, "smoke", timeout=420)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    jobs = sorted(
        j["metadata"]["name"] for j in items(localkube, "jobs", ns, "cqltest.dev/component=suite")
    )
    assert jobs == ["smoke-first-a1", "smoke-second-a1"]
    assert {s["name"]: s["attempts"] for s in run["status"]["suites"]} == {"first": 1, "second": 1}
    assert run["status"]["summary"]["suites"]["passed"] == 2


def test_multi_dc_with_authentication_and_tls_succeeds(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "op-multi")
    apply(localkube, ns, example("multi-dc.yaml"))
    run = wait_completed(localkube, ns, "multi-dc", 600, operator)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["status"]["cluster"]["datacenters"] == {"dc1": "Ready", "dc2": "Ready"}
    [job] = items(localkube, "jobs", ns, "cqltest.dev/component=suite")
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    # The password only by reference, the CA from a Secret volume; nothing secret inline.
    assert "secretKeyRef" in env["CQLTEST_PASSWORD"]["valueFrom"]
    assert env["CQLTEST_TLS_CA"]["value"] == "/etc/cqltest/ca/ca.crt"
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    events = " ".join(e["message"] for e in items(localkube, "events", ns))
    status_text = str(run["status"])
    for secret in items(localkube, "secrets", ns):
        password = secret.get("data", {}).get("password")
        if password:
            plain = base64.b64decode(password).decode()
            assert plain not in status_text
            assert plain not in events
