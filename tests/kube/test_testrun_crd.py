"""The generated TestRun CRD, as checked in, against the real apiserver.

`manifests/crds/` is what users `kubectl apply`; only a real apiserver tells whether its
structural schema, CEL rules and printer columns are accepted, whether every example manifest
passes admission, and whether bad input is refused with a message naming the field. The status
written here is built from `cqltest.model`, so a model/CRD drift in the status schema fails too.
"""

from __future__ import annotations

import copy
import datetime
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from controlplane import ControlPlane
from cqltest.model import (
    GROUP,
    PLURAL,
    VERSION,
    Condition,
    SuiteCounts,
    Summary,
    TestCounts,
    TestRunStatus,
)
from kubernetes import client
from kubernetes.client.exceptions import ApiException

pytestmark = [pytest.mark.kube, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "manifests" / "crds"
# Only the top level: examples/suites/ holds test code, examples/invalid/ holds manifests that
# `cqltest validate` rejects, some of them (a cycle) only semantically, after admission.
EXAMPLES_DIR = ROOT / "manifests" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
# Invalid manifests the CRD cannot refuse, and why; every other one must fail admission.
SEMANTIC_ONLY = {"cycle.yaml": "finding a cycle needs a graph walk, which CEL cannot express"}
INVALID_EXAMPLES = sorted(
    p for p in (EXAMPLES_DIR / "invalid").glob("*.yaml") if p.name not in SEMANTIC_ONLY
)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _testrun_example() -> dict[str, Any]:
    """The valid TestRun the invalid cases mutate: the one-suite smoke example."""
    (doc,) = [d for d in _documents(EXAMPLES_DIR / "smoke.yaml") if d.get("kind") == "TestRun"]
    return doc


def _crd() -> dict[str, Any]:
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for doc in _documents(path):
            if doc.get("kind") == "CustomResourceDefinition" and doc["spec"]["group"] == GROUP:
                return doc
    raise AssertionError(f"no CustomResourceDefinition for {GROUP} in {CRD_DIR}")


@pytest.fixture(scope="module")
def testrun_crd(control_plane: ControlPlane) -> dict[str, Any]:
    """Apply manifests/crds/ as a user would and wait until the TestRun kind is served."""
    # Server-side apply: no last-applied annotation, so a large schema never hits its size cap.
    control_plane.kubectl("apply", "--server-side", "-f", str(CRD_DIR))
    crd = _crd()
    name = crd["metadata"]["name"]
    control_plane.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")
    return crd


@pytest.fixture
def objects(kube_api: Any, testrun_crd: dict[str, Any]) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube_api)


def test_crd_is_established_with_short_name_and_status_subresource(
    kube_api: Any, testrun_crd: dict[str, Any]
) -> None:
    served = client.ApiextensionsV1Api(kube_api).read_custom_resource_definition(
        testrun_crd["metadata"]["name"]
    )
    assert served.spec.names.kind == "TestRun"
    assert "tr" in (served.spec.names.short_names or [])
    (version,) = [v for v in served.spec.versions if v.name == VERSION]
    assert version.subresources.status is not None


def test_there_are_examples_to_check() -> None:
    assert EXAMPLES, "manifests/examples/*.yaml is empty"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_server_side_dry_run(
    control_plane: ControlPlane, testrun_crd: dict[str, Any], namespace: str, example: Path
) -> None:
    for doc in _documents(example):
        # An example that names its own namespace gets it; the rest go to the test's namespace.
        own = doc.get("metadata", {}).get("namespace")
        if own:
            created = control_plane.kubectl("create", "namespace", own, check=False)
            assert created.returncode == 0 or "AlreadyExists" in created.stderr, created.stderr
    result = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", str(example), check=False
    )
    assert result.returncode == 0, f"{example.name} rejected:\n{result.stderr}"
    assert "(server dry run)" in result.stdout
    # Dry run: nothing may have been stored.
    listed = control_plane.kubectl("get", "tr", "-n", namespace, "-o", "name")
    assert listed.stdout.strip() == ""


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets the dotted `path` (integers index lists) of a TestRun to `value`."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _add_suite(suite: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["spec"]["suites"].append(suite)

    return mutate


INVALID = {
    "unknown-field": (_set("spec.suites.0.retry", 1), ["unknown field", "spec.suites[0].retry"]),
    "parallelism-zero": (_set("spec.parallelism", 0), ["spec.parallelism"]),
    "datacenter-size-zero": (
        _set("spec.cluster.datacenters.0.size", 0),
        ["spec.cluster.datacenters[0].size"],
    ),
    "replication-factor-above-size": (
        _set("spec.cluster.datacenters.0.replicationFactor", 9),
        ["spec.cluster.datacenters[0].replicationFactor", "must not exceed"],
    ),
    "malformed-duration": (_set("spec.timeout", "10 minutes"), ["spec.timeout"]),
    "bad-suite-name": (_set("spec.suites.0.name", "Not_A_Label"), ["spec.suites[0].name"]),
    "unknown-dependency": (
        _add_suite({"name": "reads", "suite": "smoke", "dependsOn": ["missing"]}),
        ["spec.suites", "every dependsOn entry must name a suite"],
    ),
    "duplicate-suite": (
        lambda doc: doc["spec"]["suites"].append(copy.deepcopy(doc["spec"]["suites"][0])),
        ["spec.suites[1]", "Duplicate value"],
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_testrun_is_rejected_at_admission_naming_the_field(
    objects: client.CustomObjectsApi, namespace: str, case: str
) -> None:
    mutate, expected = INVALID[case]
    doc = copy.deepcopy(_testrun_example())
    doc["metadata"] = {"name": case}
    mutate(doc)
    with pytest.raises(ApiException) as rejected:
        objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, doc, dry_run="All", field_validation="Strict"
        )
    body = json.loads(rejected.value.body)
    message = body["message"]
    assert rejected.value.status in (400, 422), message
    for fragment in expected:
        assert fragment in message, f"{case}: {fragment!r} not in {message!r}"


@pytest.mark.parametrize("example", INVALID_EXAMPLES, ids=lambda p: p.name)
def test_invalid_example_is_refused_by_server_side_dry_run(
    control_plane: ControlPlane, testrun_crd: dict[str, Any], namespace: str, example: Path
) -> None:
    result = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", str(example), check=False
    )
    assert result.returncode != 0, f"{example.name} was accepted: {result.stdout}"
    # Every refusal names the offending field by its path under spec.
    assert " spec." in result.stderr or '"spec.' in result.stderr, result.stderr


def _status(phase: str, *, succeeded: bool | None) -> dict[str, Any]:
    """A status document built by the model, so the CRD's status schema is checked against it."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    conditions = []
    if succeeded is not None:
        conditions.append(
            Condition(
                type="Succeeded",
                status="True" if succeeded else "False",
                reason="AllSuitesPassed" if succeeded else "SuiteFailed",
                message="1/1 suites passed",
                last_transition_time=now,
            )
        )
    status = TestRunStatus(
        phase=phase,
        observed_generation=1,
        conditions=conditions,
        summary=Summary(
            progress="1/1",
            suites=SuiteCounts(total=1, passed=1),
            tests=TestCounts(total=5, passed=4, failed=1),
        ),
        message="wave 1/1: done",
        duration="1m2s",
    )
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


@pytest.fixture
def testrun(
    objects: client.CustomObjectsApi, namespace: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A stored TestRun (name, coordinates for the status calls); deleted afterwards."""
    doc = copy.deepcopy(_testrun_example())
    name = f"tr-{uuid.uuid4().hex[:8]}"
    doc["metadata"] = {"name": name}
    coords = {"group": GROUP, "version": VERSION, "namespace": namespace, "plural": PLURAL}
    objects.create_namespaced_custom_object(**coords, body=doc)
    yield name, coords
    objects.delete_namespaced_custom_object(**coords, name=name)


def test_kubectl_get_tr_shows_the_printer_columns(
    control_plane: ControlPlane,
    objects: client.CustomObjectsApi,
    testrun_crd: dict[str, Any],
    namespace: str,
    testrun: tuple[str, dict[str, Any]],
) -> None:
    name, coords = testrun
    stored = objects.patch_namespaced_custom_object_status(
        **coords, name=name, body={"status": _status("Running", succeeded=None)}
    )
    assert stored["status"]["summary"]["progress"] == "1/1", "status pruned by the schema"

    (version,) = [v for v in testrun_crd["spec"]["versions"] if v["name"] == VERSION]
    columns = version["additionalPrinterColumns"]
    default = [c["name"].upper() for c in columns if not c.get("priority")]
    table = control_plane.kubectl("get", "tr", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", *default]
    row = table[1].split()
    assert row[0] == name
    assert "Running" in row
    assert "1/1" in row
    assert "1m2s" in row

    wide = control_plane.kubectl("get", "tr", name, "-n", namespace, "-o", "wide").stdout
    everything = [c["name"].upper() for c in columns]
    assert wide.splitlines()[0].split()[1 : len(everything) + 1] == everything
    assert "wave 1/1: done" in wide


def test_kubectl_wait_returns_once_succeeded_is_patched(
    control_plane: ControlPlane,
    objects: client.CustomObjectsApi,
    namespace: str,
    testrun: tuple[str, dict[str, Any]],
) -> None:
    name, coords = testrun
    objects.patch_namespaced_custom_object_status(
        **coords, name=name, body={"status": _status("Running", succeeded=None)}
    )
    argv = [
        str(control_plane.binaries["kubectl"]),
        f"--kubeconfig={control_plane.kubeconfig}",
        "wait",
        "--for=condition=Succeeded",
        f"tr/{name}",
        "-n",
        namespace,
        "--timeout=60s",
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as wait:
        # It must still be waiting: the condition is not there yet.
        with pytest.raises(subprocess.TimeoutExpired):
            wait.wait(timeout=1.5)
        objects.patch_namespaced_custom_object_status(
            **coords, name=name, body={"status": _status("Succeeded", succeeded=True)}
        )
        stdout, stderr = wait.communicate(timeout=30)
    assert wait.returncode == 0, stderr
    assert "condition met" in stdout
