"""The session's localkube: one real Kubernetes on this machine for every test under here.

Starting one costs seconds, so it is started once per session, under a tmp root, owned by this
pytest process (if pytest is killed, the next `up` anywhere on the machine reaps it) and taken
down at the end even when tests fail. Tests isolate themselves with the `namespace` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cqltest.localkube.instance import Localkube, up


@pytest.fixture(scope="session")
def localkube_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tmp root of every localkube the session starts (never ~/.local/share)."""
    return tmp_path_factory.mktemp("localkube")


@pytest.fixture(scope="session")
def localkube(localkube_root: Path) -> Iterator[Localkube]:
    """The running localkube: `.kubeconfig`, `.server`, `.node`, `.kubectl(...)`,
    `.api_client()`, `.request(...)`, `.root` (its state directory)."""
    local = up("localkube", owned=True, root=localkube_root)
    try:
        yield local
    finally:
        local.down()


@pytest.fixture
def namespace(localkube: Localkube, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards (without waiting: the real
    namespace controller finishes the deletion)."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    localkube.kubectl("create", "namespace", name)
    yield name
    localkube.kubectl("delete", "namespace", name, "--wait=false", check=False)
