"""A pod's volumes never hide the interpreter it runs: the "image" is this machine.

A checkout (and its venv) under /tmp, as CI may have it, was hidden by the emptyDir every test
pod mounts at /tmp, and `python` failed to start. Here an emptyDir is mounted over the
directory that holds this very venv, and `python` must still import the suites and cqltest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from agentkit import apply, finished_pod, logs, pod
from cqltest.localkube.instance import Localkube

pytestmark = [pytest.mark.kube, pytest.mark.timeout(180)]


def test_an_empty_dir_over_the_venv_does_not_hide_the_interpreter(
    localkube: Localkube, namespace: str
) -> None:
    venv_parent = str(Path(sys.prefix).parent)
    script = "import cqlsuites, cqltest, os; print('ok', sorted(os.listdir('.')) == [])"
    manifest = pod(
        "hidden",
        {
            "command": ["python", "-c", script],
            "volumeMounts": [{"name": "scratch", "mountPath": venv_parent}],
            "workingDir": venv_parent,
        },
        volumes=[{"name": "scratch", "emptyDir": {}}],
    )
    apply(localkube, namespace, manifest)
    done = finished_pod(localkube, namespace, "hidden")
    output = logs(localkube, namespace, "hidden")
    assert done["status"]["phase"] == "Succeeded", output
    assert output.startswith("ok"), output
