"""localkube as a normal user, for real: `up`, a Job, `kubectl wait`, `down`, as a uid that is
not root, and `up` refused where the kernel refuses user namespaces.

The suite runs as root (as CI does), so these tests make the user and do what the README tells
one to do. The user is a bare uid (:data:`UID`, no account: the kernel needs none, and nothing
is left in /etc/passwd) with a home of its own under /tmp (pytest's tmp dirs are root's, mode
0700). It cannot read root's files, so it cannot run this venv's interpreter (it resolves into
/root) nor read root's binary cache; like a real user it gets its own: a venv made by itself
from a Python it can run, in which this checkout's installed packages stand in for
``pip install -e .`` (a ``.pth`` line, nothing downloaded), and ``~/.cache/cqltest/bin`` holding
hard links to the cached control-plane binaries (what ``cqltest localkube install`` would have
built there). Every command then runs as that uid with only ``HOME`` and ``PATH`` set.

What must hold: every component and the Job's pod run as the user (the pod's command sees its
own uid, mapped to itself, with no capability, and the host sees the same real uid), a Secret
volume and an emptyDir work, ``kubectl wait --for=condition=complete`` returns, and ``down``
leaves no process of that uid. Where user namespaces are refused (here: a namespace whose
``user.max_user_namespaces`` is 0, the kernel's own limit), ``up`` exits 2 naming the setting
and starts nothing.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from cqltest.errors import SetupError
from cqltest.localkube import binaries, instance, isolation

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]

#: The normal user's uid and gid: unused on this machine, so every process of it is the test's.
UID = GID = 64123
LOGIN = "cqltest-user"

JOB = """
apiVersion: v1
kind: Secret
metadata: {name: greeting}
stringData: {word: hello}
---
apiVersion: batch/v1
kind: Job
metadata: {name: whoami}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      volumes:
        - {name: greeting, secret: {secretName: greeting}}
        - {name: scratch, emptyDir: {}}
      containers:
        - name: whoami
          image: python:3.11-slim
          command: [python, -c]
          args:
            - |
              import os, time
              status = dict(l.split(":", 1) for l in open("/proc/self/status"))
              print("uid", os.getuid(), "euid", os.geteuid(), "caps", status["CapEff"].strip())
              print("uid_map", " ".join(open("/proc/self/uid_map").read().split()))
              print("secret", open("/etc/greeting/word").read())
              open("/scratch/mine", "w").close()
              print("scratch owner", os.stat("/scratch/mine").st_uid)
              while not os.path.exists("/scratch/go"):  # the test looks at this process
                  time.sleep(0.05)
          volumeMounts:
            - {name: greeting, mountPath: /etc/greeting, readOnly: true}
            - {name: scratch, mountPath: /scratch}
"""

#: Runs as root: a child in a user namespace that maps every uid to itself, whose own
#: ``user.max_user_namespaces`` is 0, becomes the normal user and execs argv[1:]. That user then
#: meets the kernel's real refusal, as on a machine where the sysctl is 0.
REFUSING = """
import ctypes, os, sys
uid, gid, env = int(sys.argv[1]), int(sys.argv[2]), dict(a.split("=", 1) for a in sys.argv[3:7])
go_read, go_write = os.pipe()
ready_read, ready_write = os.pipe()
child = os.fork()
if child == 0:
    if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:
        os._exit(99)
    os.write(ready_write, b"x")
    os.read(go_read, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as limit:
        limit.write("0")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.execve(sys.argv[7], sys.argv[7:], env)
os.read(ready_read, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{child}/{name}", "w") as mapping:
        mapping.write("0 0 4294967295")
os.write(go_write, b"x")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""


@dataclass
class NormalUser:
    home: Path
    python: Path

    @property
    def path(self) -> str:
        return f"{self.python.parent}:/usr/local/bin:/usr/bin:/bin"

    @property
    def login_env(self) -> list[str]:
        """What a login sets (kopf names its peer from ``getpass.getuser()``, which asks the
        environment before the account database this uid has no entry in)."""
        return [f"HOME={self.home}", f"PATH={self.path}", f"USER={LOGIN}", f"LOGNAME={LOGIN}"]

    @property
    def kubectl(self) -> str:
        return str(self.home / ".cache" / "cqltest" / "bin" / "kubectl")

    @property
    def localkubes(self) -> Path:
        return self.home / ".local" / "share" / "cqltest" / "localkube"

    def run(
        self, *argv: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """``argv`` as the user, with the environment a login would give it."""
        return _run(
            ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups",
             "env", "-i", *self.login_env, *argv],
            stdin, timeout,
        )  # fmt: skip

    def cqltest(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.python), "-m", "cqltest", *args, timeout=timeout)

    def kubectl_run(self, kubeconfig: str, *args: str, stdin: str | None = None) -> str:
        result = self.run(self.kubectl, "--kubeconfig", kubeconfig, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout


def _run(argv: list[str], stdin: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def _runnable_python(home: Path) -> Path:
    """A Python of this version that the user can run (this venv's resolves into /root)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(sys.executable).resolve()]
    candidates += [Path(d) / version for d in ("/usr/local/bin", "/usr/bin")]
    for candidate in candidates:
        probe = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups",
                 "env", "-i", f"HOME={home}", str(candidate), "-c", "pass"]  # fmt: skip
        if candidate.is_file() and _run(probe, None, 30).returncode == 0:
            return candidate
    raise AssertionError(
        f"no {version} a normal user can run ({', '.join(map(str, candidates))}): "
        f"apt-get install {version}-venv"
    )


def _user_processes() -> list[str]:
    found = []
    for proc in psutil.process_iter(["pid", "uids", "status", "cmdline"]):
        if proc.info["uids"].real == UID and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(f"{' '.join(proc.info['cmdline'] or [])[:120]} (pid {proc.info['pid']})")
    return found


def _no_user_processes(timeout: float = 10.0) -> list[str]:
    """Processes of the user still alive after ``timeout`` (a killed one takes a moment)."""
    deadline = time.monotonic() + timeout
    while (left := _user_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="module")
def user() -> Iterator[NormalUser]:
    """A normal user set up as the README says, from this machine's files only."""
    for tool in ("setpriv", "unshare"):
        assert shutil.which(tool), f"{tool} (util-linux) is needed: apt-get install util-linux"
    assert not _user_processes(), f"uid {UID} is in use on this machine: {_user_processes()}"
    home = Path(tempfile.mkdtemp(prefix="cqltest-user-", dir="/tmp"))
    os.chown(home, UID, GID)
    try:
        user = NormalUser(home, home / "venv" / "bin" / "python")
        made = user.run(
            str(_runnable_python(home)), "-m", "venv", "--without-pip", str(home / "venv")
        )
        assert made.returncode == 0, made.stderr
        installed = Path(sysconfig.get_path("purelib"))
        site = home / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        (site / "site-packages" / "cqltest-checkout.pth").write_text(
            f"import site; site.addsitedir({str(installed)!r})\n"
        )
        cache = home / ".cache" / "cqltest" / "bin"
        cache.mkdir(parents=True)
        for directory in (home / ".cache", home / ".cache" / "cqltest", cache):
            os.chown(directory, UID, GID)
        # Links, not copies (400 MB), and never chown them: they are root's cached files.
        for name, binary in binaries.find_binaries().items():
            try:
                os.link(binary.resolve(), cache / name)
            except OSError as exc:
                if exc.errno != errno.EXDEV:  # another filesystem: copy after all
                    raise
                shutil.copy(binary, cache / name)
        yield user
    finally:
        for local in instance.list_instances(home / ".local" / "share" / "cqltest" / "localkube"):
            local.down()  # as root: whatever a failed test left running
        shutil.rmtree(home, ignore_errors=True)
        # The user's registry of localkubes and subnet claims (its TMPDIR is unset: /tmp).
        shutil.rmtree(Path("/tmp") / f"cqltest-{UID}", ignore_errors=True)


def test_a_normal_user_runs_a_job_on_localkube_and_down_leaves_nothing(user: NormalUser) -> None:
    # --no-operator: the TestRun operator is one more Python process of the user's (checked by
    # hand: `up` with it exits 0 as this user), and starting it would double this test's time.
    up = user.cqltest("localkube", "up", "--no-operator", "--output", "json")
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout)
    assert info["state"] == "running"
    assert Path(info["directory"]) == user.localkubes / "localkube"
    components = {c["name"]: psutil.Process(c["pid"]).uids().real for c in info["components"]}
    assert components == dict.fromkeys(components, UID)
    assert set(components) == {"etcd", "kube-apiserver", "kube-controller-manager",
                               "kube-scheduler", instance.AGENT, instance.K8SSANDRA}  # fmt: skip
    kubeconfig = info["kubeconfig"]

    user.kubectl_run(kubeconfig, "apply", "-f", "-", stdin=JOB)
    mine = _wait_for_file(Path(info["directory"]), "pods/*/volumes/scratch/mine")
    assert mine.stat().st_uid == UID
    pod_dir = mine.parents[2]
    assert psutil.Process(int((pod_dir / "whoami.pgid").read_text())).uids() == (UID, UID, UID)
    (pod_dir / "volumes" / "scratch" / "go").touch()
    waited = user.kubectl_run(
        kubeconfig, "wait", "--for=condition=complete", "job/whoami", "--timeout=60s"
    )
    assert "condition met" in waited
    logs = user.kubectl_run(kubeconfig, "logs", "job/whoami").splitlines()
    assert logs == [
        f"uid {UID} euid {UID} caps 0000000000000000",
        f"uid_map {UID} {UID} 1",
        "secret hello",
        f"scratch owner {UID}",
    ]

    down = user.cqltest("localkube", "down")
    assert down.returncode == 0, down.stderr
    assert _no_user_processes() == []
    assert not (user.localkubes / "localkube").exists()


def test_up_where_the_kernel_refuses_user_namespaces_says_which_setting(user: NormalUser) -> None:
    argv = [str(user.python), "-m", "cqltest", "localkube", "up", "--name", "refused"]
    refused = _run(
        [sys.executable, "-c", REFUSING, str(UID), str(GID), *user.login_env, *argv],
        None,
        120,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    message = " ".join(refused.stderr.split())
    assert message.startswith("error: localkube as a normal user needs unprivileged user names")
    assert "user.max_user_namespaces is 0" in message
    assert "sysctl -w user.max_user_namespaces=15000" in message
    assert "or run `cqltest localkube up` as root" in message
    assert message == _readme_refusal()  # the README shows this very message
    assert not (user.localkubes / "refused").exists()  # nothing was started
    assert _no_user_processes() == []


def test_the_refusal_names_each_setting_that_refuses() -> None:
    said = "unshare(CLONE_NEWUSER|CLONE_NEWNS): Operation not permitted"
    debian = isolation.refusal(said, {"kernel.unprivileged_userns_clone": "0"})
    assert f"({said}): kernel.unprivileged_userns_clone is 0." in debian
    assert "`sysctl -w kernel.unprivileged_userns_clone=1`" in debian
    ubuntu = isolation.refusal(
        said, {"kernel.apparmor_restrict_unprivileged_userns": "1", "user.max_user_namespaces": "0"}
    )
    assert "user.max_user_namespaces is 0, kernel.apparmor_restrict_unprivileged_userns is 1" in (
        ubuntu
    )
    assert (
        "`sysctl -w user.max_user_namespaces=15000; "
        "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`" in ubuntu
    )
    container = isolation.refusal(said, {"user.max_user_namespaces": "63000"})
    assert "though no sysctl does" in container
    assert "--security-opt seccomp=unconfined" in container


def test_settings_are_read_from_proc_sys(tmp_path: Path) -> None:
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "max_user_namespaces").write_text("0\n")
    assert isolation.read_settings(tmp_path) == {
        "kernel.unprivileged_userns_clone": None,
        "user.max_user_namespaces": "0",
        "kernel.apparmor_restrict_unprivileged_userns": None,
    }


def test_a_registry_other_users_could_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every user's localkubes are listed under the shared temp dir, and the reaper deletes
    what an entry names: a directory planted there by someone else must stop it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / f"cqltest-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)
    with pytest.raises(SetupError, match=r"cqltest-\d+ must be a directory of uid \d+ that only"):
        instance.list_instances(tmp_path / "localkubes")
    planted.chmod(0o755)
    assert instance.list_instances(tmp_path / "localkubes") == []


def _readme_refusal() -> str:
    """The refusal README.md's "As a normal user" shows, whitespace folded."""
    readme = Path(__file__).resolve().parents[2] / "README.md"
    blocks = readme.read_text(encoding="utf-8").split("```text\n")
    shown = [b for b in blocks if b.startswith("error: localkube as a normal user")]
    assert len(shown) == 1, "README.md shows the refusal once, in a ```text block"
    return " ".join(shown[0].split("```")[0].split())


def _wait_for_file(directory: Path, pattern: str, timeout: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout
    while not (found := sorted(directory.glob(pattern))):
        assert time.monotonic() < deadline, f"no {pattern} under {directory} in {timeout:.0f}s"
        time.sleep(0.05)
    return found[0]
