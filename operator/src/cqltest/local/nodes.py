"""Cassandra node processes: spawn, find, signal and wait, across cqltest invocations.

A node is a detached JVM (own session, so Ctrl-C in a terminal does not reach it) whose pid is
kept in the cluster's state file. Because ``cqltest cluster up`` and ``cqltest cluster kill``
are different processes, a pid alone is not trusted: a process counts as the node only if its
command line names the node's directory (pids get reused). Linux ``/proc`` is the source.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import deque
from pathlib import Path

from cqltest.errors import InputError

#: Children this process spawned, with their command line, kept so they can be reaped (no
#: zombies while pytest runs on) and told apart.
_CHILDREN: dict[int, tuple[subprocess.Popen[bytes], str]] = {}


def spawn(command: list[str], cwd: Path, stdout_log: Path) -> int:
    stdout_log.parent.mkdir(parents=True, exist_ok=True)
    with stdout_log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = (proc, " ".join(command))
    return proc.pid


def is_running(pid: int | None, marker: str) -> bool:
    """True if ``pid`` is alive (not a zombie) and its command line contains ``marker``."""
    if not pid:
        return False
    if pid in _CHILDREN:
        child, command = _CHILDREN[pid]
        # Our own child: poll() is exact, and /proc/PID/cmdline is briefly empty during exec.
        # The marker is still checked: JVM threads use up pids fast, so a dead node's pid may
        # already belong to another node (of another cluster) that this process started.
        if child.poll() is None:
            return marker in command
        del _CHILDREN[pid]
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    fields = stat_fields(Path(f"/proc/{pid}/stat"))
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return marker.encode() in cmdline


def stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc/.../stat file from field 3 (the state) on, or None if it is gone.

    The command name before them is parenthesised and may itself hold spaces and ')'."""
    try:
        return path.read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def is_paused(pid: int) -> bool:
    """True if every thread of the process is stopped by a signal (SIGSTOP): state ``T``.

    A JVM's threads take the group stop one by one, and any of them may still answer a
    request until it has: the main thread alone says little."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    states = [stat_fields(task / "stat") for task in tasks]
    return bool(states) and all(fields is not None and fields[0] == "T" for fields in states)


def find_pid(marker: str) -> int | None:
    """The pid of a running process whose command line contains ``marker`` (lost state files)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and is_running(int(entry.name), marker):
            return int(entry.name)
    return None


def signal_node(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_exit(pid: int, marker: str, timeout: float) -> bool:
    """Wait until the process is gone; True if it went within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid, marker):
            return True
        time.sleep(0.1)
    return not is_running(pid, marker)


def stop(pid: int, marker: str, timeout: float = 30.0) -> None:
    """SIGTERM (Cassandra flushes and exits cleanly), then SIGKILL if it takes too long."""
    if not is_running(pid, marker):
        return
    signal_node(pid, signal.SIGTERM)
    signal_node(pid, signal.SIGCONT)  # a paused (SIGSTOPped) node must run to handle SIGTERM
    if not wait_exit(pid, marker, timeout):
        kill(pid, marker)


def kill(pid: int, marker: str) -> None:
    """SIGKILL: the node dies like a crashed machine would, without flushing."""
    if not is_running(pid, marker):
        return
    signal_node(pid, signal.SIGKILL)
    wait_exit(pid, marker, 10.0)


def port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_bindable(address: str, port: int) -> None:
    """Raise InputError if ``address:port`` cannot be bound (someone else listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the JVM does: TIME_WAIT leftovers of a killed node must not count as in use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            raise InputError(
                f"address {address}:{port} is in use ({exc.strerror}): stop whatever listens "
                "there, or choose another cluster"
            ) from exc


def is_bindable(address: str, port: int) -> bool:
    try:
        check_bindable(address, port)
    except InputError:
        return False
    return True


def log_tail(paths: list[Path], lines: int = 30, warnings: int = 0) -> str:
    """The last ``lines`` lines of each existing file, labelled, for error messages.

    With ``warnings``, the last that many WARN/ERROR lines come first: a node that is up but
    stuck keeps logging routine INFO lines that would push the reason out of a plain tail.
    """
    parts: list[str] = []
    for path in paths:
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                tail: deque[str] = deque(maxlen=lines)
                problems: deque[str] = deque(maxlen=warnings)
                for line in handle:
                    tail.append(line)
                    if warnings and line.startswith(("WARN", "ERROR")):
                        problems.append(line)
        except OSError:
            continue
        if problems:
            parts.append(
                f"--- last {len(problems)} warnings of {path} ---\n" + "".join(problems).rstrip()
            )
        if tail:
            parts.append(f"--- last {len(tail)} lines of {path} ---\n" + "".join(tail).rstrip())
    return "\n".join(parts) if parts else "(no log output)"
