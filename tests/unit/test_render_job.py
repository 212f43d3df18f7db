"""The Job of a suite attempt and the CQL probe Job: names, ownership, command, env, lockdown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cqlsuites.env import read_env
from cqltest.engine import attempt_deadline, child_name
from cqltest.engine.world import attempt_from_job
from cqltest.model import SecretKeyRef, SuiteSpec
from cqltest.render.environment import Connection
from cqltest.render.job import (
    DEADLINE_GRACE,
    DEFAULT_RESOURCES,
    render_job,
    render_probe_job,
    suite_command,
    suite_image,
)
from cqltest.render.pods import CA_PATH, Owner, Secrets
from engine_sim import T0, make_spec, observed

OWNER = Owner(name="nightly", namespace="qa", uid="0b5f-uid")
SPEC = make_spec(
    [
        {"name": "schema", "markers": "not slow", "params": {"rows": 5}},
        {"name": "mine", "suite": None, "image": "me/tests:1", "command": ["./run", "--fast"]},
    ],
    image="ghcr.io/org/cqltest-suites:1.0",
)
SCHEMA, MINE = SPEC.suites
CONNECTION = Connection(
    ("nightly-dc1-service.qa.svc",),
    local_dc="dc1",
    username="nightly-superuser",
    topology={"dc1": {"nodes": 3, "replicationFactor": 3}},
)
SECRETS = Secrets(
    password=SecretKeyRef(name="nightly-superuser", key="password"),
    ca=SecretKeyRef(name="nightly-client-ca", key="ca.crt"),
)


def job(suite: SuiteSpec = SCHEMA, attempt: int = 1, **extra: Any) -> dict[str, Any]:
    extra.setdefault("secrets", SECRETS)
    extra.setdefault("deadline", timedelta(minutes=15))
    return render_job(
        OWNER, SPEC, suite, attempt, CONNECTION, default_image="cqltest-suites:dev", **extra
    )


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    containers = manifest["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_of(manifest: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(manifest)["env"]}


def test_name_labels_and_owner() -> None:
    manifest = job(attempt=2)
    meta = manifest["metadata"]
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert meta["name"] == child_name("nightly", "schema", 2) == "nightly-schema-a2"
    assert meta["namespace"] == "qa"
    expected = {
        "cqltest.dev/testrun": "nightly",
        "cqltest.dev/suite": "schema",
        "cqltest.dev/attempt": "2",
        "cqltest.dev/component": "suite",
    }
    assert expected.items() <= meta["labels"].items()
    assert manifest["spec"]["template"]["metadata"]["labels"] == meta["labels"]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "cqltest.dev/v1alpha1",
            "kind": "TestRun",
            "name": "nightly",
            "uid": "0b5f-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_long_names_fit_and_stay_deterministic() -> None:
    owner = Owner(name="r" * 200, namespace="qa", uid="u")
    spec = make_spec([{"name": "s" * 63}])
    one, again = (
        render_job(owner, spec, spec.suites[0], 1, CONNECTION, default_image="i",
                   deadline=timedelta(minutes=1), secrets=SECRETS)
        for _ in range(2)
    )  # fmt: skip
    assert one == again
    assert len(one["metadata"]["name"]) <= 63
    assert all(len(v) <= 63 for v in one["metadata"]["labels"].values())


def test_retries_and_deadline_belong_to_the_engine() -> None:
    spec = job()["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 15 * 60 + DEADLINE_GRACE.total_seconds()
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_deadline_is_the_suite_timeout_or_the_runs_time_left() -> None:
    spec = make_spec([{"name": "a", "timeout": "15m"}], timeout="20m")
    ready = observed()  # the cluster was ready at T0
    assert attempt_deadline(spec, "a", ready, T0 + timedelta(minutes=1)) == timedelta(minutes=15)
    assert attempt_deadline(spec, "a", ready, T0 + timedelta(minutes=10)) == timedelta(minutes=10)
    assert attempt_deadline(spec, "a", ready, T0 + timedelta(hours=1)) == timedelta(0)
    assert job(deadline=timedelta(0))["spec"]["activeDeadlineSeconds"] == 30  # the grace


def test_built_in_suites_run_the_cqlsuites_pod_entrypoint() -> None:
    assert container(job())["command"] == [
        "python",
        "-m",
        "cqlsuites",
        "run",
        "smoke",
        "--pod",
        "--markers",
        "not slow",
    ]
    assert suite_command(SuiteSpec(name="dt", suite="data-types"))[4] == "data-types"


def test_own_suites_run_their_own_command_and_image() -> None:
    assert container(job(MINE))["command"] == ["./run", "--fast"]
    assert container(job(MINE))["image"] == "me/tests:1"


def test_path_suites_are_local_only() -> None:
    with pytest.raises(ValueError, match="path suite only runs in local mode"):
        suite_command(SuiteSpec(name="p", path="suites/p"))


def test_image_precedence() -> None:
    assert suite_image(SPEC, MINE, "d") == "me/tests:1"
    assert suite_image(SPEC, SCHEMA, "d") == "ghcr.io/org/cqltest-suites:1.0"
    bare = make_spec([{"name": "a"}])
    assert suite_image(bare, bare.suites[0], "d") == "d"


def test_the_environment_contract_with_secrets_by_reference() -> None:
    env = env_of(job(attempt=3))
    assert env["CQLTEST_PASSWORD"] == {
        "secretKeyRef": {"name": "nightly-superuser", "key": "password"}
    }
    assert env["CQLTEST_TLS_CA"] == CA_PATH == "/etc/cqltest/ca/ca.crt"
    assert env["HOME"] == "/tmp"
    plain = {k: v for k, v in env.items() if isinstance(v, str) and k != "CQLTEST_TLS_CA"}
    suite_env = read_env(plain)
    assert suite_env.contact_points == ("nightly-dc1-service.qa.svc",)
    assert (suite_env.local_dc, suite_env.username) == ("dc1", "nightly-superuser")
    assert (suite_env.suite, suite_env.attempt, suite_env.run) == ("schema", 3, "nightly")
    assert suite_env.keyspace == "nightly_schema"
    assert dict(suite_env.params) == {"rows": 5}
    assert suite_env.replication() == {"dc1": 3}
    assert suite_env.result_path is None  # in a pod the suite reports as a pod does


def test_a_password_is_never_written_into_a_manifest() -> None:
    leaky = Connection(("h",), username="u", password="hunter2")
    with pytest.raises(ValueError, match="never inline"):
        render_job(OWNER, SPEC, SCHEMA, 1, leaky, default_image="i", deadline=timedelta(1))
    assert "hunter2" not in str(job())


def test_without_secrets_there_is_no_password_nor_ca() -> None:
    manifest = job(secrets=Secrets())
    env = env_of(manifest)
    assert "CQLTEST_PASSWORD" not in env
    assert "CQLTEST_TLS_CA" not in env
    assert [v["name"] for v in manifest["spec"]["template"]["spec"]["volumes"]] == ["scratch"]


def test_the_ca_comes_from_a_secret_volume() -> None:
    pod = job()["spec"]["template"]["spec"]
    ca = next(v for v in pod["volumes"] if v["name"] == "ca")
    assert ca["secret"] == {
        "secretName": "nightly-client-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    mount = next(m for m in container(job())["volumeMounts"] if m["name"] == "ca")
    assert (mount["mountPath"], mount["readOnly"]) == ("/etc/cqltest/ca", True)


def test_the_pod_is_locked_down() -> None:
    pod = job()["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    box = container(job())
    assert box["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"name": "scratch", "mountPath": "/tmp"} in box["volumeMounts"]
    assert {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]
    assert box["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert box["resources"] == DEFAULT_RESOURCES
    custom = {"limits": {"memory": "4Gi"}}
    assert container(job(resources=custom))["resources"] == custom


def test_engine_world_reads_the_jobs_this_renders() -> None:
    manifest = job(attempt=2)
    manifest["status"] = {"active": 1, "startTime": "2026-01-01T12:00:00Z"}
    seen = attempt_from_job(SCHEMA, 2, manifest, None, T0)
    assert (seen.state, seen.started_at) == ("Running", T0)


def test_the_probe_job() -> None:
    probe = render_probe_job(OWNER, 1, CONNECTION, image="cqltest-suites:dev", secrets=SECRETS)
    meta = probe["metadata"]
    assert meta["name"] == "nightly-probe-p1"
    assert meta["labels"]["cqltest.dev/component"] == "probe"
    assert meta["ownerReferences"][0]["uid"] == "0b5f-uid"
    box = container(probe)
    assert box["command"] == ["python", "-m", "cqlsuites", "probe", "--timeout", "120"]
    assert probe["spec"]["activeDeadlineSeconds"] == 180
    assert probe["spec"]["backoffLimit"] == 0
    env = env_of(probe)
    assert "CQLTEST_SUITE" not in env
    assert env["CQLTEST_PASSWORD"] == {
        "secretKeyRef": {"name": "nightly-superuser", "key": "password"}
    }
    assert probe["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
