"""The usage guide's code blocks (testsuites/README.md) run, unmodified except for the
contact point, against a real node — so the guide cannot drift from the API."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiocql import AsyncCluster
from cqltest.local import ClusterInfo

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(180)]

README = Path(__file__).resolve().parents[2] / "testsuites" / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(info: ClusterInfo) -> list[str]:
    text = README.read_text()
    address = info.contact_points[0]
    return [b.replace('"127.0.0.1"', repr(address)) for b in BLOCK.findall(text)]


def test_readme_examples_run(cluster_single: ClusterInfo, tmp_path: Path) -> None:
    code = blocks(cluster_single)
    assert len(code) == 6, "the guide's sections changed: update this test"
    connect, queries, errors, load, observe, pytest_example = code
    namespace: dict[str, Any] = {"__name__": "readme"}
    for block in (connect, queries, errors, load, observe):
        exec(compile(block, str(README), "exec"), namespace)  # connect runs asyncio.run(main())

    async def run_all() -> None:
        async with AsyncCluster(cluster_single.contact_points, local_dc="dc1") as cluster:
            session = await cluster.connect()
            await namespace["queries"](session)
            await namespace["errors"](session)
            await namespace["load"](session, 2000)
            await namespace["paced"](session)
            await namespace["observe"](session)
            assert session.stats().errors_by_kind.keys() <= {
                "SyntaxException",
                "InvalidRequest",
                "OperationTimedOut",
            }

    asyncio.run(run_all())

    # the pytest example is a real test module: run it with pytest
    module = tmp_path / "test_readme_example.py"
    module.write_text(pytest_example)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            str(module),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
