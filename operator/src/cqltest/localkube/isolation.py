"""Whether this machine lets the node agent isolate pods, checked before a localkube starts.

Every container runs in a mount namespace of its own (:mod:`cqltest.localkube.agent.sandbox`).
Root may make one; a normal user only inside a user namespace, which the kernel grants where
unprivileged user namespaces are allowed. Where they are not, a localkube would come up and
then fail every pod, so ``cqltest localkube up`` asks here first and, before starting anything,
fails with a :class:`~cqltest.errors.SetupError` (exit 2) naming the setting that refuses them.
The answer comes from doing it (the sandbox's ``--probe``), not from reading settings: the
settings only explain a refusal, since a seccomp profile or an LSM can refuse with every
sysctl allowing.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from cqltest.errors import SetupError

SANDBOX = Path(__file__).parent / "agent" / "sandbox.py"
PROC_SYS = Path("/proc/sys")
#: Each sysctl that can refuse unprivileged user namespaces: the value that refuses them and
#: one that allows them. The first is Debian's (before 11) and Ubuntu's patch, the last
#: Ubuntu's AppArmor restriction (23.10 and later).
SETTINGS = (
    ("kernel.unprivileged_userns_clone", "0", "1"),
    ("user.max_user_namespaces", "0", "15000"),
    ("kernel.apparmor_restrict_unprivileged_userns", "1", "0"),
)


def read_settings(proc_sys: Path = PROC_SYS) -> dict[str, str | None]:
    """The current value of each of :data:`SETTINGS`, None where this kernel has no such file."""
    values: dict[str, str | None] = {}
    for name, _, _ in SETTINGS:
        try:
            values[name] = (proc_sys / name.replace(".", "/")).read_text().strip()
        except OSError:
            values[name] = None
    return values


def refusal(said: str, settings: Mapping[str, str | None]) -> str:
    """What to tell a normal user whose kernel refused the probe: which setting refuses and
    how to allow it, or that none does (then a seccomp profile or an LSM is in the way)."""
    refusing = [(name, allow) for name, refuse, allow in SETTINGS if settings.get(name) == refuse]
    why = (
        "localkube as a normal user needs unprivileged user namespaces (the node agent runs each "
        f"pod in a mount namespace of its own, inside one), and this machine refuses them ({said})"
    )
    if refusing:
        found = ", ".join(f"{name} is {settings[name]}" for name, _ in refusing)
        commands = "; ".join(f"sysctl -w {name}={allow}" for name, allow in refusing)
        return (
            f"{why}: {found}. Allow them as root with `{commands}` (and the same in a file "
            "under /etc/sysctl.d/ to keep it after a reboot), or run `cqltest localkube up` "
            "as root"
        )
    names = ", ".join(name for name, _, _ in SETTINGS)
    return (
        f"{why}, though no sysctl does ({names} allow them), so a seccomp profile or a security "
        "module does: in a container, start it with `--security-opt seccomp=unconfined` (or "
        "`--privileged`); or run `cqltest localkube up` as root"
    )


@functools.cache
def namespace_command() -> tuple[str, ...]:
    """What a container's sandbox is started under: as root, the ``unshare`` prefix that gives
    it a private mount namespace; as a normal user nothing, once the kernel has shown it lets
    the sandbox enter a user namespace itself. Checked once per process.

    Raises SetupError naming what is missing (``unshare``, or the setting that refuses user
    namespaces)."""
    if os.geteuid() == 0:
        unshare = shutil.which("unshare")
        if unshare is None:
            raise SetupError(
                "localkube's node agent needs `unshare` (util-linux) on PATH to give each pod "
                "a mount namespace: apt-get install util-linux"
            )
        return (unshare, "--mount", "--propagation", "private")
    probe = subprocess.run(
        [sys.executable, "-I", "-S", str(SANDBOX), "--probe"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        said = probe.stderr.strip().splitlines()[-1:] or [f"exit code {probe.returncode}"]
        raise SetupError(refusal(said[0], read_settings()))
    return ()
