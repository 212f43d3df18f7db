"""Building the class-data-sharing archive of a Cassandra version (see :mod:`cqltest.local.cds`).

:mod:`cqltest.local.cds` only knows where an archive lives, so that every node start can look for
it; dumping one needs a whole throwaway cluster, which is this module's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cqltest.local import cds, jars
from cqltest.local.cluster import LocalCluster
from cqltest.local.topology import ClusterSpec


def build_class_archive(version: str | None = None, timeout: float = 300.0) -> Path | None:
    """Dump the class-data-sharing archive of ``version`` once (see :mod:`cqltest.local.cds`).

    Starts a throwaway 1-node cluster with ``-XX:ArchiveClassesAtExit`` and stops it cleanly,
    which makes the JVM write the archive; idempotent. Returns None if the JVM wrote nothing
    (start-up still works without the archive).
    """
    version = jars.resolve_version(version)
    java = jars.find_java()
    existing = cds.existing_archive(version, java)
    if existing is not None:
        return existing
    target = cds.archive_path(version, java)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix="cqltest-cds-") as tmp:
        spec = ClusterSpec(name="cds", jvm_options=[f"-XX:ArchiveClassesAtExit={partial}"])
        archiving = LocalCluster.create(spec, root=tmp, owned=True)
        try:
            archiving.start(timeout=timeout)
            # SIGTERM: the JVM runs its exit path, which is where it writes the archive.
            archiving.stop(timeout=120.0)
        finally:
            archiving.destroy()
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        return None
    partial.replace(target)
    return target
