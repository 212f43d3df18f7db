"""``cqltest suites``: the catalogue as a table and as JSON, exactly what validation checks."""

from __future__ import annotations

import json

from click.testing import CliRunner
from cqlsuites.__main__ import builtin_suites
from cqltest.cli.app import main


def test_json_lists_every_installed_suite_with_its_declaration() -> None:
    result = CliRunner().invoke(main, ["suites", "--output", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [s["name"] for s in document] == builtin_suites()
    for suite in document:
        assert set(suite) == {"name", "description", "markers", "needs", "timeout", "params"}
        assert set(suite["needs"]) == {"nodes", "datacenters", "authentication", "tls"}
        for name, param in suite["params"].items():
            assert param["type"] in {"integer", "number", "string", "boolean", "duration"}, name
            assert param["description"], f"{suite['name']}.{name} has no description"
    smoke = next(s for s in document if s["name"] == "smoke")
    assert smoke["timeout"] == "5m"
    assert smoke["needs"]["nodes"] == 1


def test_table_names_every_suite() -> None:
    result = CliRunner().invoke(main, ["suites"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in builtin_suites():
        assert f"│ {name} " in result.output
