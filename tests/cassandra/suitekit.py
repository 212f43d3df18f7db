"""Run one built-in suite the way the local launcher does, against a session cluster.

Each catalogue test (``test_suite_<pkg>.py``) runs its suite once through
``python -m cqlsuites run <name>`` as a subprocess with the ``CQLTEST_*`` environment of
contracts §3 pointing at a cluster from ``conftest.py``, then asserts on the SuiteResult. One
runner keeps those tests honest about the entrypoint, the environment and the exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cqltest.local import ClusterInfo
from cqltest.model import SuiteSpec
from cqltest.render.environment import Connection, suite_variables

EXIT_FOR_OUTCOME = {"passed": 0, "failed": 1, "error": 2}
DEFAULT_TIMEOUT = 300.0


def suite_environment(
    name: str, cluster_info: ClusterInfo, params: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The launcher's ``CQLTEST_*`` variables for ``name`` on ``cluster_info`` (run ``cat``).

    RF is min(3, nodes) per DC, the local DC the first one, the keyspace ``cat_<suite>``.
    """
    connection = Connection(
        contact_points=tuple(cluster_info.contact_points),
        port=cluster_info.port,
        local_dc=next(iter(cluster_info.datacenters)),
        username=cluster_info.username,
        password=cluster_info.password,
        ca_path=cluster_info.ca_path,
        topology={
            dc: {"nodes": len(nodes), "replicationFactor": min(3, len(nodes))}
            for dc, nodes in cluster_info.datacenters.items()
        },
    )
    entry = SuiteSpec(name=name, params=dict(params or {}))
    return suite_variables(connection, run="cat", suite=entry, attempt=1)


def run_suite(
    name: str,
    cluster_info: ClusterInfo,
    params: Mapping[str, Any] | None = None,
    *,
    markers: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    **env: str,
) -> dict[str, Any]:
    """Run suite ``name`` and return its parsed SuiteResult.

    ``env`` overrides or adds variables (``CQLTEST_PASSWORD="wrong"``; an empty string removes
    one). The exit code must agree with the result's outcome (contracts §5), and the process
    must finish within ``timeout`` seconds: a hanging suite fails the test that ran it.
    """
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CQLTEST_")}
    variables.update(suite_environment(name, cluster_info, params))
    variables.update(env)
    variables = {k: v for k, v in variables.items() if v != ""}
    with tempfile.TemporaryDirectory(prefix="suitekit-") as tmp:
        result_path = Path(tmp) / "result.json"
        variables["CQLTEST_RESULT_PATH"] = str(result_path)
        argv = [sys.executable, "-m", "cqlsuites", "run", name]
        if markers:
            argv += ["--markers", markers]
        try:
            done = subprocess.run(
                argv, env=variables, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"suite {name} did not finish within {timeout:g}s") from exc
        assert result_path.is_file(), (
            f"suite {name} wrote no result (exit {done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    expected = EXIT_FOR_OUTCOME[result["outcome"]]
    assert done.returncode == expected, (
        f"suite {name} ended {result['outcome']} but exited {done.returncode}, not {expected}"
    )
    return result


def run_passing(
    name: str,
    cluster_info: ClusterInfo,
    params: Mapping[str, Any] | None = None,
    *,
    tests: int,
    **env: str,
) -> dict[str, Any]:
    """Run suite ``name`` (as :func:`run_suite`) and assert that all ``tests`` of it passed.

    The count is the suite's own, so a test lost (not collected, skipped) or one added without
    its catalogue test knowing fails here. Returns the result for further checks.
    """
    result = run_suite(name, cluster_info, params, **env)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == tests, result["tests"]
    return result


def failure_summary(result: Mapping[str, Any]) -> str:
    """The failures of a SuiteResult, one per line, for assertion messages."""
    return "\n".join(f"{f['test']}: {f['message']}" for f in result.get("failures", []))
