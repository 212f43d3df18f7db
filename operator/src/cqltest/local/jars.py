"""Cassandra server jars from Maven Central, and the JDK that runs them.

Cassandra is not packaged for pip, and the project may download only from the package registries,
so the server comes from Maven Central as ``org.apache.cassandra:cassandra-all`` plus its runtime
dependencies, resolved by ``mvn`` into ``${XDG_CACHE_HOME:-~/.cache}/cqltest/cassandra/<version>``.
A marker file makes the fetch idempotent: a second call costs one ``stat``.

What the runtime scope leaves out, checked against cassandra-parent's pom: the ``provided``
AmazonCorrettoCryptoProvider (unused: with no ``crypto_provider`` in our cassandra.yaml the
JRE's provider is used), and compile/test-only antlr, byteman and compile-command-annotations.
The distribution's sigar native library (lib/sigar-bin) is not on Maven Central; without it
Cassandra only logs that SIGAR is unavailable. jamm is on the classpath and needs no
``-javaagent`` on 5.0 (see resources/jvm17-server.options).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from cqltest.errors import InputError, SetupError

#: Newest 5.0.x on Maven Central when this was pinned (maven-metadata.xml of cassandra-all,
#: 2026-11-23). Bump it deliberately; tests and the benchmark run against this version.
DEFAULT_VERSION = "5.0.9"
REQUIRED_JAVA = 17
_VERSION = re.compile(r"^5\.0\.[0-9]+$")
_MARKER = ".complete"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.cqltest</groupId>
  <artifactId>cassandra-server-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cqltest"


def resolve_version(version: str | None) -> str:
    """Check a requested version's form; 5.0.x only, because the JVM flags are 5.0's."""
    if version is None:
        return DEFAULT_VERSION
    if not _VERSION.match(version):
        raise InputError(
            f"--version {version!r} is not supported: cqltest runs Cassandra 5.0.x "
            f"(e.g. {DEFAULT_VERSION}) on JDK {REQUIRED_JAVA}"
        )
    return version


def lib_dir(version: str) -> Path:
    return cache_root() / "cassandra" / version / "lib"


def is_installed(version: str) -> bool:
    return (lib_dir(version) / _MARKER).is_file()


def fetched_at(version: str) -> int:
    """When the jars of ``version`` were fetched (seconds since the epoch; 0 if they are not)."""
    try:
        return int((lib_dir(version) / _MARKER).stat().st_mtime)
    except OSError:
        return 0


def ensure_jars(version: str | None = None) -> Path:
    """Return the lib directory of ``version``, fetching it with Maven the first time."""
    version = resolve_version(version)
    target = lib_dir(version)
    if is_installed(version):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SetupError(
            "Maven ('mvn') is not on PATH; it fetches the Cassandra jars from Maven Central. "
            "Install it, e.g. 'apt-get install maven'"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Fetch into a sibling temp dir and rename, so an interrupted fetch never looks complete.
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=target.parent) as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(version=version), encoding="utf-8")
        staging = Path(tmp) / "lib"
        proc = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            if "cassandra-all:jar:" in output and (
                "Could not find artifact" in output or "was not found" in output
            ):
                raise InputError(
                    f"--version {version!r} is unknown: Maven Central has no "
                    f"org.apache.cassandra:cassandra-all:{version}"
                )
            tail = "\n".join(output.splitlines()[-20:])
            raise SetupError(f"Maven failed to fetch Cassandra {version} jars:\n{tail}")
        _check_runtime_jars(staging, version)
        (staging / _MARKER).write_text(version + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


#: Jars the server cannot start without; a Maven resolution missing one would fail late and
#: obscurely inside the JVM, so it is checked here.
_REQUIRED = ("cassandra-all-", "jamm-", "netty-all-", "jna-", "snakeyaml-", "logback-classic-")


def _check_runtime_jars(directory: Path, version: str) -> None:
    names = [p.name for p in directory.glob("*.jar")]
    missing = [prefix for prefix in _REQUIRED if not any(n.startswith(prefix) for n in names)]
    if missing:
        raise SetupError(
            f"Maven resolved Cassandra {version} without {', '.join(missing)}*.jar; "
            f"the fetch in {directory} is incomplete"
        )


def find_java() -> str:
    """``$JAVA_HOME/bin/java`` if JAVA_HOME is set, else ``java`` on PATH; must be JDK 17."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = str(Path(java_home) / "bin" / "java")
        if not os.access(java, os.X_OK):
            raise SetupError(
                f"JAVA_HOME={java_home!r} has no bin/java: point it at a JDK {REQUIRED_JAVA} "
                f"or unset it (e.g. apt-get install openjdk-{REQUIRED_JAVA}-jdk-headless)"
            )
    else:
        found = shutil.which("java")
        if found is None:
            raise SetupError(
                "Java is not installed (no 'java' on PATH and JAVA_HOME unset): Cassandra 5.0 "
                f"needs JDK {REQUIRED_JAVA}, e.g. "
                f"apt-get install openjdk-{REQUIRED_JAVA}-jdk-headless"
            )
        java = found
    major = java_major(java)
    if major != REQUIRED_JAVA:
        raise SetupError(
            f"{java} is Java {major}; cqltest runs Cassandra 5.0 on JDK {REQUIRED_JAVA}. "
            f"Install openjdk-{REQUIRED_JAVA}-jdk-headless and set JAVA_HOME to it"
        )
    return java


@functools.lru_cache(maxsize=8)
def java_version_text(java: str) -> str:
    """The output of ``java -version`` (cached: it costs a JVM start)."""
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupError(f"cannot run {java} -version: {exc}") from exc
    return proc.stderr + proc.stdout


def java_major(java: str) -> int:
    return parse_java_major(java_version_text(java), java)


def parse_java_major(output: str, java: str = "java") -> int:
    """Parse the major version from ``java -version`` output ("17.0.15", "1.8.0_402")."""
    match = re.search(r'version "([0-9]+)(?:\.([0-9]+))?', output)
    if not match:
        raise SetupError(f"cannot tell the Java version of {java} from: {output.strip()[:200]!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    return major
