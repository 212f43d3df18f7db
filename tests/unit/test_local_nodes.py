"""Process identity in cqltest.local.nodes: a pid only counts as a node with its marker."""

from __future__ import annotations

import sys
from pathlib import Path

from cqltest.local import nodes


def test_a_reused_pid_is_not_taken_for_another_node(tmp_path: Path) -> None:
    """A stale pid that now belongs to another child (another node) must not count as ours."""
    marker = str(tmp_path / "clusterA" / "node1" / "conf")
    other = str(tmp_path / "clusterB" / "node1" / "conf")
    command = [sys.executable, "-c", "import time; time.sleep(30)", other]
    pid = nodes.spawn(command, tmp_path, tmp_path / "out.log")
    try:
        assert nodes.is_running(pid, other)
        assert not nodes.is_running(pid, marker)
        nodes.kill(pid, marker)  # the wrong node's marker: must not be killed
        assert nodes.is_running(pid, other)
    finally:
        nodes.kill(pid, other)
    assert not nodes.is_running(pid, other)


def test_log_tail_leads_with_warnings(tmp_path: Path) -> None:
    log = tmp_path / "system.log"
    lines = [f"INFO  line {i}\n" for i in range(50)]
    lines.insert(5, "WARN  something odd\n")
    log.write_text("".join(lines))
    text = nodes.log_tail([log, tmp_path / "missing.log"], lines=3, warnings=5)
    assert "WARN  something odd" in text
    assert "INFO  line 49" in text
    assert "INFO  line 10" not in text
    assert nodes.log_tail([tmp_path / "missing.log"]) == "(no log output)"
