"""The processes a localkube is made of: spawn, probe, identify and stop them across invocations.

``cqltest localkube up`` starts etcd, the apiserver and the rest, then exits; ``down`` runs in
another process later. So a component is known by its pid *and* start time (a pid alone may
belong to another process by then, see :class:`cqltest.local.state.Owner`), and each runs in a
session of its own: Ctrl-C in the terminal that ran ``up`` does not reach it, and its process
group id is its pid, so ``stop`` reaches whatever it forked too.

Tests that want the envtest behaviour (the processes die with the test run, even a SIGKILLed
one) spawn with ``die_with_parent``.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cqltest.local.nodes import log_tail
from cqltest.local.state import Owner
from cqltest.localkube.errors import ComponentError

STOP_GRACE = 20.0
LOG_TAIL_LINES = 40
POLL = 0.1

#: Children spawned by this process, so their exit is noticed (and collected: no zombies)
#: when the same process that started a localkube also stops it, as the test fixture does.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Runs in the child before exec: if the parent thread dies, the kernel kills the child.

    The kernel fires it when the *thread* that forked exits, so start such processes from a
    thread that outlives them (pytest's main thread)."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


@dataclass(frozen=True)
class Process:
    """One component: its name (for messages), identity and log file."""

    name: str
    pid: int
    started: int
    log: Path

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "pid": self.pid, "started": self.started, "log": str(self.log)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Process:
        return cls(str(data["name"]), int(data["pid"]), int(data["started"]), Path(data["log"]))

    def alive(self) -> bool:
        child = _CHILDREN.get(self.pid)
        if child is not None and child.poll() is not None:
            return False
        return Owner(self.pid, self.started).alive()

    def exit_code(self) -> int | None:
        """The exit status if this process spawned it and it has exited."""
        child = _CHILDREN.get(self.pid)
        return None if child is None else child.poll()

    def tail(self) -> str:
        return log_tail([self.log], LOG_TAIL_LINES)

    def failure(self, what: str) -> ComponentError:
        return ComponentError(self.name, what, self.tail())

    def exited(self) -> ComponentError:
        code = self.exit_code()
        how = "exited" if code is None else f"exited with code {code}"
        return self.failure(f"{how} while starting")

    def signal(self, sig: signal.Signals) -> None:
        """Signal the process group, if the process is still the one recorded."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)

    def wait(self, timeout: float) -> bool:
        """True once the process is gone (within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL / 2)
        return True

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        self.signal(signal.SIGTERM)
        if not self.wait(grace):
            self.signal(signal.SIGKILL)
            self.wait(10.0)


def stop_all(processes: Sequence[Process], grace: float = STOP_GRACE) -> None:
    """SIGTERM every process, wait for all (one shared grace), SIGKILL what is left."""
    for process in processes:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        if not process.wait(max(0.0, deadline - time.monotonic())):
            process.signal(signal.SIGKILL)
            process.wait(10.0)


def spawn(
    name: str,
    argv: Sequence[str],
    log: Path,
    *,
    die_with_parent: bool = False,
    env: Mapping[str, str] | None = None,
) -> Process:
    """Start ``argv`` in a new session, stdout and stderr appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
            env=None if env is None else dict(env),
        )
    _CHILDREN[popen.pid] = popen
    identity = Owner.of(popen.pid)
    # Exited already (a missing shared library, a bad flag): still a Process, so the caller
    # reports it with its log like any other failure.
    return Process(name, popen.pid, identity.started if identity else 0, log)


def wait_healthy(process: Process, probe: Callable[[], bool], *, timeout: float) -> None:
    """Poll ``probe()`` every 100 ms (envtest's interval) until it returns True.

    Raises ComponentError with the log tail if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if not process.alive():
            raise process.exited()
        try:
            if probe():
                return
            last_error = "not ready"
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(POLL)
    raise process.failure(f"not healthy after {timeout:.0f}s ({last_error})")


def http_ok(host: str, port: int, path: str, context: ssl.SSLContext | None = None) -> bool:
    """True if GET ``path`` answers 200 (HTTPS when a context is given)."""
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


def unverified_tls() -> ssl.SSLContext:
    """For health probes of components serving a self-signed certificate on loopback."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def help_lists(binary: Path, flag: str) -> bool:
    """True if ``binary --help`` mentions ``flag`` (flags come and go between versions)."""
    result = subprocess.run(
        [str(binary), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    return flag in result.stdout + result.stderr


def kill_groups(pgid_files: Sequence[Path]) -> None:
    """SIGKILL each process group named in a ``*.pgid`` file (pods the agent left running).

    A group id stays reserved while any member lives, so a group that still exists is the
    pod's. The agent removes a pod's files when the pod ends, so files outlive their groups
    only when the agent itself was killed, and then only until this sweep."""
    for path in pgid_files:
        try:
            pgid = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
        if pgid > 1:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
