"""Runs inside a container's fresh mount namespace: bind the pod's files, then exec the command.

As root the agent starts every container as
``unshare --mount --propagation private <python> -I -S sandbox.py <plan.json>``: ``unshare``
gives the process its own mount namespace, so the mounts below are invisible to the host and to
other pods and disappear with the process. As a normal user there is no prefix: this file first
enters a user namespace mapping the user to itself, with a mount namespace it owns
(:func:`enter_user_namespace`); the capabilities that grants last until the ``exec``, so the
command runs as the user, with no privilege, as it would outside (``sandbox.py --probe`` only
checks that the kernel allows it, for ``cqltest localkube up``). Then, with the standard
library only (``-S`` skips site packages: it starts in ~15 ms), it performs the plan's bind
mounts in order of depth — volumes at their ``mountPath``, the per-pod ``/etc/hosts``, the
per-container termination-message file — remounting read-only ones, changes to the pod's
working directory and ``exec``s the command, so the process keeps this pid (and process group)
and the agent sees its real exit status.

Mount points that do not exist on the host (``/etc/cqltest/secret``, ``/dev/termination-log``)
are made without touching the host: the deepest existing ancestor (``/etc``) is *mirrored* into
a directory under the pod's state directory (each entry bind-mounted, symlinks copied), the
missing path is created there, and the mirror is bind-mounted over the ancestor inside the
namespace only. Files the command then creates in that directory land in the mirror, not on
the host. A missing top-level directory (``/data``) mirrors ``/`` and ``chroot``s into it.

When ``exec`` fails (no such program) the reason goes to the plan's ``start_error`` file and
the process exits 128, which the agent reports as the kubelet reports a runtime start failure
(``StartError``).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
#: statvfs f_flag bits that must be kept on a read-only remount (the kernel refuses to clear
#: flags locked by a user namespace).
_KEPT_FLAGS = {
    2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME,
    4096: MS_RELATIME,
}  # fmt: skip

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, flags: int, fstype: str | None = None) -> None:
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _bind(source: str, target: str, read_only: bool = False) -> None:
    _mount(source, target, MS_BIND | MS_REC)
    if read_only:
        kept = 0
        for bit, flag in _KEPT_FLAGS.items():
            if os.statvfs(target).f_flag & bit:
                kept |= flag
        _mount(None, target, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def enter_user_namespace() -> None:
    """Not root: a user namespace mapping this user (and group) to itself, and a mount
    namespace it owns, with mount events kept from the host (``--propagation private``).

    Until it execs, this process holds every capability inside that namespace, which is what
    the mounts need; the kernel drops them at the ``exec`` (the uid is not the namespace's
    root), so the command runs as the user, as it would outside."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare(CLONE_NEWUSER|CLONE_NEWNS): {os.strerror(errno)}")
    # setgroups must be denied before an unprivileged process may write its gid_map.
    for name, line in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(line)
    _mount(None, "/", MS_REC | MS_PRIVATE)


def probe() -> None:
    """What ``localkube up`` runs first as a normal user: the namespaces and one read-only
    bind mount, as a pod's container needs them (an AppArmor policy may allow the first and
    refuse the second)."""
    enter_user_namespace()
    here = os.path.dirname(os.path.abspath(__file__))
    _bind(here, here, read_only=True)


class _Mirrors:
    """Creates missing mount points by mirroring their deepest existing ancestor."""

    def __init__(self, directory: str) -> None:
        # A tmpfs of this namespace's own: creating a few hundred placeholders there is ~5x
        # faster than on the state directory's disk, and it vanishes with the container.
        os.makedirs(directory, exist_ok=True)
        _mount("tmpfs", directory, 0, "tmpfs")
        self.directory = directory
        self.count = 0
        # Directories whose direct entries are ours to create: mirrored ancestors and the
        # directories made inside them. A directory merely reached *through* a mirror (a
        # bind of the host's /etc/ssl) is the host's, so it is mirrored in turn.
        self.created: set[str] = set()

    def _mirror(self, ancestor: str) -> None:
        self.count += 1
        mirror = os.path.join(self.directory, str(self.count))
        os.makedirs(mirror)
        with os.scandir(ancestor) as entries:
            for entry in entries:
                copy = os.path.join(mirror, entry.name)
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), copy)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    os.mkdir(copy)
                else:
                    open(copy, "wb").close()
                try:
                    _mount(entry.path, copy, MS_BIND | MS_REC)
                except OSError:
                    # Some kernel files refuse a bind (rare); leave the placeholder.
                    continue
        if ancestor == "/":
            os.chroot(mirror)
        else:
            _bind(mirror, ancestor)
        self.created.add(ancestor)

    def ensure(self, target: str, is_dir: bool) -> None:
        if os.path.lexists(target):
            return
        ancestor = os.path.dirname(target)
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if ancestor not in self.created:
            self._mirror(ancestor)
        directory = target if is_dir else os.path.dirname(target)
        os.makedirs(directory, exist_ok=True)
        if not is_dir:
            open(target, "ab").close()
        while directory != ancestor:
            self.created.add(directory)
            directory = os.path.dirname(directory)


def _held(path: str) -> str:
    """A name for ``path`` that keeps working once a mount hides the path itself.

    A pod's emptyDir at ``/tmp`` hides the agent's state directory when that lives under
    ``/tmp`` (every test session's does); a descriptor opened before the first mount, named
    through ``/proc/self/fd``, still reaches the inode.
    """
    return f"/proc/self/fd/{os.open(path, os.O_PATH)}"


def apply(plan: dict[str, Any]) -> None:
    mounts = sorted(plan["mounts"], key=lambda m: m["target"].rstrip("/").count("/"))
    sources = {m["source"]: _held(m["source"]) for m in mounts}
    kinds = {m["source"]: os.path.isdir(m["source"]) for m in mounts}
    # The container's "image" is this machine: the interpreter, its venv and the source trees
    # on its path (``keep``) and the working directory must stay reachable by their own paths
    # (pytest chdirs back to getcwd(); Python finds its venv from its executable's path). A
    # volume that hides one of them (an emptyDir at /tmp over a checkout under /tmp) gets the
    # hidden directory bound back in place, through a descriptor held from before the mounts.
    keep = sorted({*plan.get("keep", ()), plan["cwd"]}, key=lambda p: p.rstrip("/").count("/"))
    held = {path: (_held(path), _identity(path)) for path in keep if os.path.isdir(path)}
    mirrors = _Mirrors(plan["mirror_dir"])
    mirrors.directory = _held(mirrors.directory)
    for mount in mounts:
        mirrors.ensure(mount["target"], kinds[mount["source"]])
        _bind(sources[mount["source"]], mount["target"], bool(mount["read_only"]))
    for path, (descriptor, identity) in held.items():
        if _identity(path) != identity:
            mirrors.ensure(path, True)
            _bind(descriptor, path)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def main(plan_path: str) -> None:
    with open(plan_path) as handle:
        plan: dict[str, Any] = json.load(handle)
    # Opened before any mount can hide the pod directory (see _held); written only on failure.
    error_file = os.open(plan["start_error"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if plan.get("user_namespace"):
            enter_user_namespace()
        apply(plan)
        os.chdir(plan["cwd"])
        os.execvpe(plan["argv"][0], plan["argv"], plan["env"])
    except OSError as exc:
        program = plan["argv"][0]
        if isinstance(exc, FileNotFoundError) and "/" not in program:
            # runc's wording, which users search for.
            message = f'exec: "{program}": executable file not found in $PATH'
        else:
            message = f"failed to start container: {exc}"
        with os.fdopen(error_file, "w") as handle:
            handle.write(message)
        print(message, file=sys.stderr)
        os._exit(128)


if __name__ == "__main__":
    if sys.argv[1] == "--probe":
        try:
            probe()
        except OSError as exc:
            print(exc.strerror or exc, file=sys.stderr)
            sys.exit(1)
    else:
        main(sys.argv[1])
