"""Where the class-data-sharing (AppCDS) archive of a Cassandra version lives.

A node spends most of its start-up CPU loading, parsing and verifying ~10k classes. JDK 17 can
dump the classes a run loaded into an archive (``-XX:ArchiveClassesAtExit``) that later JVMs map
instead (``-XX:SharedArchiveFile``); measured on the 2-core machine, a node then starts with
about a third less CPU, which is what matters when several nodes start at once on two cores.

An archive is only valid for the exact JDK and jars it was dumped with, so it is cached per
Cassandra version and keyed by the JDK and the time the jars were fetched. If it does not match
anyway, the JVM ignores it and starts normally: it is an optimisation, never a requirement.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cqltest.local.jars import cache_root, fetched_at, java_version_text


def _java_key(java: str) -> str:
    identity = os.path.realpath(java) + "\n" + java_version_text(java)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def archive_path(version: str, java: str) -> Path:
    # The JVM also checks the jars' modification times, so a re-fetched lib dir gets a new key.
    fetched = fetched_at(version)
    return cache_root() / "cassandra" / version / "cds" / f"{_java_key(java)}-{fetched}.jsa"


def existing_archive(version: str, java: str) -> Path | None:
    path = archive_path(version, java)
    return path if path.is_file() and path.stat().st_size > 0 else None
