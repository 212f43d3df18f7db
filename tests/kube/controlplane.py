"""A real Kubernetes control plane (etcd + kube-apiserver) for tests, the envtest recipe in Python.

The operator's tests must run against the real API machinery (admission, CEL, structural
pruning, the status subresource, server-side dry-run), not a mock, and the machine has neither
Docker nor kind. So this module starts the two binaries built by
`scripts/install-control-plane.sh` on loopback, with certificates issued by
``cqltest.local.certs`` (the project's one certificate builder), and writes an admin
kubeconfig. There is no kubelet and no controller-manager: Jobs never get Pods, namespaces never
finish deleting, nothing is garbage-collected; tests play those parts through the status
subresource.

Usage: ``with ControlPlane.start() as cp: cp.kubectl("get", "ns")`` or the session fixture
``control_plane`` in ``tests/kube/conftest.py``.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import http.client
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from cqltest.errors import CqltestError, SetupError
from cqltest.local import certs
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

INSTALL_HINT = "run `make control-plane` (scripts/install-control-plane.sh)"
BINARIES = ("etcd", "kube-apiserver", "kubectl", "helm")
START_TIMEOUT = 60.0
STOP_GRACE = 20.0
LOG_TAIL_LINES = 40


class ControlPlaneError(CqltestError):
    """etcd or kube-apiserver failed to start or answer; the message carries the log tail."""


def bin_dir() -> Path:
    """Where the install script puts the binaries (``CQLTEST_KUBE_BIN`` overrides it)."""
    override = os.environ.get("CQLTEST_KUBE_BIN")
    if override:
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cqltest" / "bin"


def find_binaries(directory: Path | None = None) -> dict[str, Path]:
    """Paths of etcd, kube-apiserver, kubectl and helm; raises SetupError naming what is missing."""
    directory = directory or bin_dir()
    found = {name: directory / name for name in BINARIES}
    missing = [name for name, path in found.items() if not os.access(path, os.X_OK)]
    if missing:
        raise SetupError(
            f"control-plane binaries missing from {directory}: {', '.join(missing)}; "
            f"{INSTALL_HINT} to build them from the Go module proxy"
        )
    return found


# ---------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    """File paths of everything the apiserver and its clients need to trust each other."""

    serving_ca: Path
    serving_cert: Path
    serving_key: Path
    client_ca: Path
    client_ca_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public: Path
    sa_private: Path

    @classmethod
    def generate(cls, directory: Path, *, admin_user: str = "admin") -> Pki:
        """Three separate trust roots as envtest has: serving CA, client CA, SA signing key."""
        serving_ca = certs.new_ca(certs.subject("cqltest-serving-ca"))
        serving = certs.issue(
            serving_ca,
            certs.subject("localhost", ()),
            sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))],
            usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        )
        client_ca = certs.new_ca(certs.subject("cqltest-client-ca"))
        # system:masters bypasses RBAC: the admin of a throwaway cluster.
        admin = certs.issue(
            client_ca,
            certs.subject(admin_user, ("system:masters",)),
            usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        sa_key = ec.generate_private_key(ec.SECP256R1())
        pem, key_pem = certs.certificate_pem, certs.private_pem
        files: dict[str, bytes] = {
            "serving-ca.crt": pem(serving_ca[0]),
            "apiserver.crt": pem(serving[0]),
            "apiserver.key": key_pem(serving[1]),
            "client-ca.crt": pem(client_ca[0]),
            "client-ca.key": key_pem(client_ca[1]),
            "admin.crt": pem(admin[0]),
            "admin.key": key_pem(admin[1]),
            "sa.pub": sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "sa.key": key_pem(sa_key),
        }
        for filename, data in files.items():
            certs.write_private(directory / filename, data)
        return cls(
            serving_ca=directory / "serving-ca.crt",
            serving_cert=directory / "apiserver.crt",
            serving_key=directory / "apiserver.key",
            client_ca=directory / "client-ca.crt",
            client_ca_key=directory / "client-ca.key",
            admin_cert=directory / "admin.crt",
            admin_key=directory / "admin.key",
            sa_public=directory / "sa.pub",
            sa_private=directory / "sa.key",
        )

    def issue_client(self, user: str, groups: Sequence[str] = ()) -> tuple[Path, Path]:
        """A client certificate for `user` in `groups` (CN and O, as the apiserver reads them).

        For tests that must go through RBAC, e.g. as the operator's ServiceAccount-like user
        bound to the chart's ClusterRole, instead of the all-powerful admin.
        """
        cert, key = certs.issue(
            certs.load_ca(self.client_ca, self.client_ca_key),
            certs.subject(user, groups),
            usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        stem = "".join(c if c.isalnum() else "-" for c in user)
        cert_path = self.client_ca.parent / f"user-{stem}.crt"
        key_path = self.client_ca.parent / f"user-{stem}.key"
        cert_path.write_bytes(certs.certificate_pem(cert))
        certs.write_private(key_path, certs.private_pem(key))
        return cert_path, key_path


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Runs in the child before exec: if pytest is killed, the kernel kills the child too.

    Without it a crashed or SIGKILLed test run leaves etcd and kube-apiserver running on a
    machine shared with other engineers. The kernel fires it when the *thread* that forked
    exits, so start a control plane from a thread that outlives it (pytest's main thread).
    """
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def failure(self, what: str) -> ControlPlaneError:
        return ControlPlaneError(
            f"{self.name} {what}; last lines of {self.log}:\n{log_tail(self.log)}"
        )

    def stop(self, grace: float = STOP_GRACE) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=grace)


def _spawn(name: str, argv: Sequence[str], log: Path) -> _Process:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    return _Process(name, popen, log)


def _wait_healthy(
    process: _Process,
    probe: Callable[[], bool],
    *,
    timeout: float,
) -> None:
    """Poll `probe()` every 100 ms (envtest's interval) until it returns True."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise process.failure(f"exited with code {process.popen.returncode} while starting")
        try:
            if probe():
                return
            last_error = "not ready"
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise process.failure(f"not healthy after {timeout:.0f}s ({last_error})")


def _http_ok(host: str, port: int, path: str, context: ssl.SSLContext | None = None) -> bool:
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection(host, port, timeout=2)
    else:
        conn = http.client.HTTPSConnection(host, port, timeout=2, context=context)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status == 200
    finally:
        conn.close()


def _help_lists(binary: Path, flag: str) -> bool:
    result = subprocess.run(
        [str(binary), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    return flag in result.stdout + result.stderr


# ---------------------------------------------------------------------------- the control plane


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(
    path: Path, server: str, ca: Path, cert: Path, key: Path, name: str = "cqltest"
) -> None:
    """One cluster, one user, one context, all named `name`, certificates embedded."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca)},
            }
        ],
        "users": [
            {
                "name": name,
                "user": {
                    "client-certificate-data": _b64(cert),
                    "client-key-data": _b64(key),
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


@dataclass
class ControlPlane:
    """A running etcd + kube-apiserver pair; `stop()` (or leaving the `with`) removes all traces."""

    root: Path
    binaries: dict[str, Path]
    pki: Pki
    server: str
    kubeconfig: Path
    _processes: list[_Process] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        *,
        binaries: dict[str, Path] | None = None,
        extra_etcd_args: Sequence[str] = (),
        extra_apiserver_args: Sequence[str] = (),
        timeout: float = START_TIMEOUT,
        attempts: int = 3,
    ) -> ControlPlane:
        """Start etcd then kube-apiserver and wait until `/readyz` answers 200.

        Raises SetupError when the binaries are missing and ControlPlaneError (with the failing
        process's log tail) when either does not come up; nothing is left running then.
        """
        binaries = binaries or find_binaries()
        for attempt in range(1, attempts + 1):
            try:
                return cls._start_once(binaries, extra_etcd_args, extra_apiserver_args, timeout)
            except ControlPlaneError as exc:
                # Ports are found free, then bound by the child a moment later; on a machine
                # shared with other test runs another process can take one in between.
                if attempt == attempts or "address already in use" not in str(exc):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    @classmethod
    def _start_once(
        cls,
        binaries: dict[str, Path],
        extra_etcd_args: Sequence[str],
        extra_apiserver_args: Sequence[str],
        timeout: float,
    ) -> ControlPlane:
        root = Path(tempfile.mkdtemp(prefix="cqltest-kube-"))
        try:
            pki = Pki.generate(root / "pki")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        api_port = free_port()
        server = f"https://127.0.0.1:{api_port}"
        plane = cls(root, binaries, pki, server, root / "admin.kubeconfig")
        try:
            etcd_url = plane._start_etcd(extra_etcd_args, timeout)
            plane._start_apiserver(etcd_url, api_port, extra_apiserver_args, timeout)
            write_kubeconfig(
                plane.kubeconfig, server, pki.serving_ca, pki.admin_cert, pki.admin_key
            )
        except BaseException:
            plane.stop()
            raise
        return plane

    def _start_etcd(self, extra: Sequence[str], timeout: float) -> str:
        etcd = self.binaries["etcd"]
        client_port, peer_port = free_port(), free_port()
        url = f"http://127.0.0.1:{client_port}"
        argv = [
            str(etcd),
            f"--data-dir={self.root / 'etcd'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
            "--log-level=warn",
        ]
        # A throwaway store needs no durability, and fsync dominates etcd latency on slow disks.
        if _help_lists(etcd, "--unsafe-no-fsync"):
            argv.append("--unsafe-no-fsync=true")
        process = _spawn("etcd", [*argv, *extra], self.root / "etcd.log")
        self._processes.append(process)
        _wait_healthy(
            process, lambda: _http_ok("127.0.0.1", client_port, "/health"), timeout=timeout
        )
        return url

    def _start_apiserver(
        self, etcd_url: str, port: int, extra: Sequence[str], timeout: float
    ) -> None:
        pki = self.pki
        argv = [
            str(self.binaries["kube-apiserver"]),
            f"--etcd-servers={etcd_url}",
            f"--cert-dir={self.root / 'pki'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.client_ca}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            # Some authorizer is needed for the health endpoints; admin is system:masters anyway.
            "--authorization-mode=RBAC",
            # No token controller runs, so the ServiceAccount plugin would reject every Pod.
            "--disable-admission-plugins=ServiceAccount",
            f"--service-account-issuer={self.server}/",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            # No controller-manager: nothing should try to maintain the `kubernetes` endpoints.
            "--endpoint-reconciler-type=none",
            # --insecure-port is deliberately absent: removed in 1.24, 1.3x refuses to start.
        ]
        process = _spawn("kube-apiserver", [*argv, *extra], self.root / "kube-apiserver.log")
        self._processes.append(process)
        context = self.ssl_context()
        _wait_healthy(
            process, lambda: _http_ok("127.0.0.1", port, "/readyz", context), timeout=timeout
        )

    # ------------------------------------------------------------------ clients

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the serving CA and presents the admin client certificate."""
        context = ssl.create_default_context(cafile=str(self.pki.serving_ca))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

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
    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The running etcd and kube-apiserver processes, in start order."""
        return [process.popen for process in self._processes]

    @property
    def helm(self) -> Path:
        return self.binaries["helm"]

    def log_tail(self, name: str = "kube-apiserver") -> str:
        return log_tail(self.root / f"{name}.log")

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """SIGTERM the apiserver then etcd (SIGKILL after the grace), then delete every file."""
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()
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
