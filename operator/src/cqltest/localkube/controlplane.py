"""The real Kubernetes control plane on loopback: etcd, kube-apiserver and, for a localkube,
kube-controller-manager and kube-scheduler.

The operator's tests and localkube both need the real API machinery (admission, CEL, structural
pruning, the status subresource), not a mock, and the machine has neither Docker nor kind. So
this module starts the binaries built by ``scripts/install-control-plane.sh`` with certificates
from :mod:`cqltest.localkube.pki`. Without ``controllers`` it is the envtest recipe (etcd +
apiserver only: Jobs never get Pods, namespaces never finish deleting). With ``controllers`` the
controller manager runs the Job, garbage-collector, TTL-after-finished, namespace, Deployment,
ReplicaSet and ServiceAccount controllers, and the scheduler binds Pods to the node agent.

Admission choices, because pods here are processes, not containers:

* ``ServiceAccount`` admission is off. The ``serviceaccount-controller`` still creates the
  ``default`` ServiceAccount in every namespace (manifests and charts that name it work), but
  Pods get no token volume at ``/var/run/secrets/kubernetes.io/serviceaccount``: the agent would
  have to create that path on the host. Pods reach the API with a kubeconfig instead.
* ``TaintNodesByCondition`` is off: it taints every new Node ``not-ready`` and only the
  node-lifecycle controller (not run: there is no kubelet heartbeat to judge) would lift it.

The apiserver reaches the agent's log server by the Node's InternalIP (127.0.0.1) and, without
``--kubelet-certificate-authority``, does not verify its certificate. No endpoint reconciler
runs: the ``kubernetes`` Service has no endpoints (its ClusterIP is unroutable anyway).
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from cqltest.localkube import processes
from cqltest.localkube.binaries import find_binaries
from cqltest.localkube.errors import ComponentError
from cqltest.localkube.pki import Pki, write_kubeconfig
from cqltest.localkube.processes import Process, free_port, http_ok, wait_healthy

START_TIMEOUT = 60.0
#: The envtest pair, and what a localkube adds.
CORE = ("etcd", "kube-apiserver", "kubectl")
CONTROLLERS = ("kube-controller-manager", "kube-scheduler")
KCM_CONTROLLERS = (
    "job-controller",
    "garbage-collector-controller",
    "ttl-after-finished-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "deployment-controller",
    "replicaset-controller",
)
DISABLED_ADMISSION = ("ServiceAccount", "TaintNodesByCondition")
SERVICE_CIDR = "10.0.0.0/24"

SpawnHook = Callable[[Process], None]


# ---------------------------------------------------------------------------- arguments


def etcd_args(binary: Path, data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    url = f"http://127.0.0.1:{client_port}"
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        str(binary),
        f"--data-dir={data_dir}",
        f"--listen-client-urls={url}",
        f"--advertise-client-urls={url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--log-level=warn",
    ]


def apiserver_args(
    binary: Path, pki: Pki, *, etcd_url: str, port: int, cert_dir: Path
) -> list[str]:
    server = f"https://127.0.0.1:{port}"
    return [
        str(binary),
        f"--etcd-servers={etcd_url}",
        f"--cert-dir={cert_dir}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.client_ca}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        # Some authorizer is needed for the health endpoints; admin is system:masters anyway.
        "--authorization-mode=RBAC",
        f"--disable-admission-plugins={','.join(DISABLED_ADMISSION)}",
        f"--service-account-issuer={server}/",
        f"--service-account-key-file={pki.sa_public}",
        f"--service-account-signing-key-file={pki.sa_private}",
        "--endpoint-reconciler-type=none",
        # `kubectl logs` goes to the agent's log server on the Node's InternalIP, 127.0.0.1.
        "--kubelet-preferred-address-types=InternalIP",
        # --insecure-port is deliberately absent: removed in 1.24, 1.3x refuses to start.
    ]


def _component_args(binary: Path, kubeconfig: Path, port: int, cert_dir: Path) -> list[str]:
    """What the controller manager and the scheduler share: the admin identity (the built-in
    controller-manager role cannot create Pods), no leader election (one instance), and serving
    only /healthz on a free loopback port (the defaults 10257/10259 collide between
    localkubes)."""
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={cert_dir}",
    ]


def controller_manager_args(binary: Path, kubeconfig: Path, port: int, cert_dir: Path) -> list[str]:
    return [
        *_component_args(binary, kubeconfig, port, cert_dir),
        f"--controllers={','.join(KCM_CONTROLLERS)}",
    ]


def scheduler_args(binary: Path, kubeconfig: Path, port: int, cert_dir: Path) -> list[str]:
    return _component_args(binary, kubeconfig, port, cert_dir)


# ---------------------------------------------------------------------------- the control plane


@dataclass
class ControlPlane:
    """A running control plane; `stop()` (or leaving the `with`) ends it and removes ``root``."""

    root: Path
    binaries: dict[str, Path]
    pki: Pki
    server: str
    kubeconfig: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        root: Path | None = None,
        *,
        controllers: bool = False,
        die_with_parent: bool | None = None,
        on_spawn: SpawnHook | None = None,
        binaries: dict[str, Path] | None = None,
        extra_etcd_args: Sequence[str] = (),
        extra_apiserver_args: Sequence[str] = (),
        timeout: float = START_TIMEOUT,
        attempts: int = 3,
    ) -> ControlPlane:
        """Start etcd, the apiserver (and the controllers) and wait until each is healthy.

        ``root`` (created, must not hold a control plane) defaults to a temporary directory;
        such a throwaway control plane dies with this process unless ``die_with_parent`` says
        otherwise. ``on_spawn`` is called with every process started, so a caller can record it
        before waiting. Raises SetupError when binaries are missing and ComponentError (with
        the log tail) when a component does not come up; nothing is left running then, and
        ``root`` is removed.
        """
        names = CORE + CONTROLLERS if controllers else CORE
        binaries = binaries or find_binaries(names=names)
        if die_with_parent is None:
            die_with_parent = root is None
        for attempt in range(1, attempts + 1):
            directory = root or Path(tempfile.mkdtemp(prefix="cqltest-kube-"))
            directory.mkdir(parents=True, exist_ok=True)
            plane = cls(directory, binaries, Pki.generate(directory / "pki"), "", directory)
            plane.kubeconfig = directory / "admin.kubeconfig"
            try:
                plane._start_all(
                    controllers, die_with_parent, on_spawn, extra_etcd_args,
                    extra_apiserver_args, timeout,
                )  # fmt: skip
            except BaseException as exc:
                plane.stop()
                # Ports are found free, then bound by the child a moment later; on a machine
                # shared with other test runs another process can take one in between.
                if attempt == attempts or "address already in use" not in str(exc):
                    raise
                continue
            return plane
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _spawn(
        self, name: str, argv: Sequence[str], die_with_parent: bool, on_spawn: SpawnHook | None
    ) -> Process:
        process = processes.spawn(
            name, argv, self.root / f"{name}.log", die_with_parent=die_with_parent
        )
        self.processes.append(process)
        if on_spawn is not None:
            on_spawn(process)
        return process

    def _start_all(
        self,
        controllers: bool,
        die_with_parent: bool,
        on_spawn: SpawnHook | None,
        extra_etcd: Sequence[str],
        extra_apiserver: Sequence[str],
        timeout: float,
    ) -> None:
        ports = self.ports
        for name in ("etcd", "etcd-peer", "kube-apiserver"):
            ports[name] = free_port()
        etcd = self.binaries["etcd"]
        argv = etcd_args(etcd, self.root / "etcd", ports["etcd"], ports["etcd-peer"])
        # A throwaway store needs no durability, and fsync dominates etcd latency on slow disks.
        if processes.help_lists(etcd, "--unsafe-no-fsync"):
            argv.append("--unsafe-no-fsync=true")
        process = self._spawn("etcd", [*argv, *extra_etcd], die_with_parent, on_spawn)
        wait_healthy(
            process, lambda: http_ok("127.0.0.1", ports["etcd"], "/health"), timeout=timeout
        )
        self.server = f"https://127.0.0.1:{ports['kube-apiserver']}"
        argv = apiserver_args(
            self.binaries["kube-apiserver"],
            self.pki,
            etcd_url=f"http://127.0.0.1:{ports['etcd']}",
            port=ports["kube-apiserver"],
            cert_dir=self.root / "pki",
        )
        process = self._spawn("kube-apiserver", [*argv, *extra_apiserver], die_with_parent,
                              on_spawn)  # fmt: skip
        context = self.ssl_context()
        wait_healthy(
            process,
            lambda: http_ok("127.0.0.1", ports["kube-apiserver"], "/readyz", context),
            timeout=timeout,
        )
        write_kubeconfig(
            self.kubeconfig, self.server, self.pki.serving_ca, self.pki.admin_cert,
            self.pki.admin_key,
        )  # fmt: skip
        if controllers:
            self._start_controllers(die_with_parent, on_spawn, timeout)

    def _start_controllers(
        self, die_with_parent: bool, on_spawn: SpawnHook | None, timeout: float
    ) -> None:
        """Both start at once (they only need the apiserver), then each must answer /healthz."""
        builders = {
            "kube-controller-manager": controller_manager_args,
            "kube-scheduler": scheduler_args,
        }
        started = []
        for name, build in builders.items():
            self.ports[name] = port = free_port()
            argv = build(self.binaries[name], self.kubeconfig, port, self.root / name)
            started.append((self._spawn(name, argv, die_with_parent, on_spawn), port))
        context = processes.unverified_tls()
        for process, port in started:
            probe = functools.partial(http_ok, "127.0.0.1", port, "/healthz", context)
            wait_healthy(process, probe, timeout=timeout)

    # ------------------------------------------------------------------ clients

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the serving CA and presents the admin client certificate."""
        context = ssl.create_default_context(cafile=str(self.pki.serving_ca))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One admin API call with a JSON body; returns the status and the decoded answer.

        For the few calls ``up`` makes while it waits, without importing the (slow to import)
        ``kubernetes`` client into every CLI invocation."""
        host, _, port = self.server.removeprefix("https://").partition(":")
        conn = http.client.HTTPSConnection(host, int(port), timeout=10, context=self.ssl_context())
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response.status, json.loads(data) if data else None

    def env(self) -> dict[str, str]:
        """The process environment with KUBECONFIG pointing at this control plane."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def api_client(self) -> Any:
        """A fresh `kubernetes.client.ApiClient` for the admin user (close it when done)."""
        from kubernetes import config

        return config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig)
        )

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl as admin (or as `kubeconfig`'s user); raises when `check` fails."""
        argv = [
            str(self.binaries["kubectl"]),
            f"--kubeconfig={kubeconfig or self.kubeconfig}",
            *args,
        ]
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stderr.strip()}\n{result.stdout.strip()}"
            )
        return result

    def kubeconfig_for(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig authenticating as `user` in `groups`: subject to RBAC, unlike the admin."""
        cert, key = self.pki.issue_client(user, groups)
        path = self.root / f"{cert.stem}.kubeconfig"
        write_kubeconfig(path, self.server, self.pki.serving_ca, cert, key)
        return path

    @property
    def helm(self) -> Path:
        return self.binaries.get("helm") or self.binaries["kubectl"].parent / "helm"

    def log_tail(self, name: str = "kube-apiserver") -> str:
        for process in self.processes:
            if process.name == name:
                return process.tail()
        raise ComponentError(name, "is not part of this control plane")

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Stop the processes one by one, newest first (each SIGTERM, SIGKILL after a grace),
        then delete every file: the apiserver outlives its clients, etcd the apiserver."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
