"""Helpers for the operator's end-to-end tests: a real `cqltest operator` process on localkube.

The operator runs as the console script a user runs, in its own process (so a test can SIGKILL
it), serving only the namespaces its glob names; each test gets a namespace under that glob.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from agentkit import wait_for
from cqltest.localkube.instance import Localkube

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "manifests" / "examples"
CQLTEST = str(Path(sys.executable).parent / "cqltest")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Operator:
    """A running `cqltest operator`; `.log` is its output so far."""

    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_port: int
    liveness_port: int
    argv: list[str]

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def start_operator(localkube: Localkube, namespaces: str, log_path: Path) -> Operator:
    metrics, liveness = free_port(), free_port()
    argv = [
        CQLTEST, "operator", "--kubeconfig", str(localkube.kubeconfig), "-n", namespaces,
        "--metrics-port", str(metrics), "--liveness-port", str(liveness),
    ]  # fmt: skip
    with log_path.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    operator = Operator(process, log_path, metrics, liveness, argv)

    def live() -> bool:
        assert process.poll() is None, f"the operator exited:\n{operator.log[-3000:]}"
        try:
            with socket.create_connection(("127.0.0.1", liveness), timeout=1):
                return True
        except OSError:
            return False

    wait_for("the operator's liveness endpoint", live, timeout=60)
    return operator


@contextmanager
def running_operator(localkube: Localkube, namespaces: str, log_path: Path) -> Iterator[Operator]:
    operator = start_operator(localkube, namespaces, log_path)
    try:
        yield operator
    finally:
        operator.stop()


def install_crd(localkube: Localkube) -> None:
    """Apply the TestRun CRD and wait until it is served (`kubectl wait` fails on a CRD that
    has no conditions yet, so this polls)."""
    localkube.kubectl("apply", "-f", str(EXAMPLES.parent / "crds" / "testruns.cqltest.dev.yaml"))

    def established() -> bool:
        found = localkube.kubectl("get", "crd", "testruns.cqltest.dev", "-o", "json")
        conditions = json.loads(found.stdout).get("status", {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    wait_for("the TestRun CRD established", established, timeout=60)


@contextmanager
def module_operator(
    localkube: Localkube, namespaces: str, tmp_path_factory: Any
) -> Iterator[Operator]:
    """The CRD installed and an operator serving ``namespaces``, for a test module's fixture."""
    install_crd(localkube)
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with running_operator(localkube, namespaces, log) as running:
        yield running


def new_namespace(localkube: Localkube, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    localkube.kubectl("create", "namespace", name)
    return name


def example(name: str, **changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    manifest.update(changes)
    return manifest


def apply(localkube: Localkube, namespace: str, manifest: dict[str, Any]) -> None:
    localkube.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def get_testrun(localkube: Localkube, namespace: str, name: str) -> dict[str, Any] | None:
    result = localkube.kubectl("get", "tr", name, "-n", namespace, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def items(
    localkube: Localkube, kind: str, namespace: str, selector: str | None = None
) -> list[dict[str, Any]]:
    args = ["get", kind, "-n", namespace, "-o", "json", *(["-l", selector] if selector else [])]
    found: list[dict[str, Any]] = json.loads(localkube.kubectl(*args).stdout)["items"]
    return found


def wait_condition(
    localkube: Localkube,
    namespace: str,
    name: str,
    condition: str = "Completed",
    timeout: float = 420,
    operator: Operator | None = None,
) -> dict[str, Any]:
    """`kubectl wait --for=condition=X` (what a pipeline runs), then the object; on a timeout
    the failure shows the run's status, its pods and the operator's log."""
    result = localkube.kubectl(
        "wait", "-n", namespace, f"tr/{name}", f"--for=condition={condition}",
        f"--timeout={int(timeout)}s", timeout=timeout + 30, check=False,
    )  # fmt: skip
    found = get_testrun(localkube, namespace, name)
    if result.returncode != 0:
        pods = localkube.kubectl("get", "pods,jobs,k8c", "-n", namespace, check=False).stdout
        log = operator.log[-4000:] if operator is not None else ""
        status = json.dumps((found or {}).get("status"), indent=1)[-4000:]
        raise AssertionError(
            f"tr/{name} not {condition} after {timeout:.0f}s: {result.stderr}\n"
            f"status: {status}\n{pods}\noperator log:\n{log}"
        )
    assert found is not None
    return found


def wait_completed(
    localkube: Localkube,
    namespace: str,
    name: str,
    timeout: float = 420,
    operator: Operator | None = None,
) -> dict[str, Any]:
    return wait_condition(localkube, namespace, name, "Completed", timeout, operator)


def suites(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in run["status"]["suites"]}


def wait_gone(
    localkube: Localkube, kind: str, namespace: str, selector: str | None, timeout: float = 120
) -> None:
    def gone() -> bool:
        return not items(localkube, kind, namespace, selector)

    wait_for(f"every {kind} with {selector} in {namespace} gone", gone, timeout=timeout)


def scrape(operator: Operator) -> str:
    import urllib.request

    with urllib.request.urlopen(
        f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5
    ) as r:
        text: str = r.read().decode()
        return text
