"""The operator's TLS store Secrets, loaded by Cassandra's own PEM SSL context factory.

k8ssandra-operator mounts the ``keystore``/``truststore`` keys and copies ``keystore-password``
into ``keystore_password``, which makes Cassandra decrypt the PEM private key with it. Only the
real ``PEMBasedSslContextFactory`` on the real JDK tells whether the key encryption we write is
one it can read (JDK 17 cannot read PBES2, the scheme most tools default to).
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from cqltest.local.jars import ensure_jars, find_java
from cqltest.model import load_testrun
from cqltest.render.tls import tls_secrets

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).parent / "java" / "StoresCheck.java"


def load_stores(
    java: str, lib: Path, store: Path, password: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            java,
            "-cp",
            f"{lib}/*",
            str(CHECK),
            str(store / "keystore"),
            password,
            str(store / "truststore"),
            "",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cassandra_reads_the_encryption_stores(tmp_path: Path) -> None:
    run = load_testrun(ROOT / "manifests" / "examples" / "multi-dc.yaml")
    java, lib = find_java(), ensure_jars()
    _, client, internode = tls_secrets(run.name, "qa", run.spec.cluster)
    for secret in (client, internode):
        store = tmp_path / secret["metadata"]["name"]
        store.mkdir()
        data = {key: base64.b64decode(value) for key, value in secret["data"].items()}
        for key, value in data.items():
            (store / key).write_bytes(value)
        result = load_stores(java, lib, store, data["keystore-password"].decode())
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().endswith("ok")
    wrong = load_stores(java, lib, store, "not-the-password")
    assert wrong.returncode != 0
    assert "Failed to decrypt the private key" in wrong.stderr
