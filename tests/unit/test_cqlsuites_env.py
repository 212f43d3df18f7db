"""The env reader: every variable of the contract parsed, every bad value named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cqlsuites.env import (
    DatacenterTopology,
    EnvError,
    default_keyspace,
    read_env,
    read_report_target,
)


def test_full_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    env = read_env(
        {
            "CQLTEST_CONTACT_POINTS": "127.0.1.1, 127.0.1.2",
            "CQLTEST_PORT": "9043",
            "CQLTEST_LOCAL_DC": "dc1",
            "CQLTEST_USERNAME": "cassandra",
            "CQLTEST_PASSWORD": "pw",
            "CQLTEST_TLS_CA": str(ca),
            "CQLTEST_TOPOLOGY": json.dumps(
                {"dc1": {"nodes": 3, "replicationFactor": 2}, "dc2": {"nodes": 1}}
            ),
            "CQLTEST_KEYSPACE": "run1_smoke",
            "CQLTEST_PARAMS": '{"rows": 10}',
            "CQLTEST_SUITE": "smoke",
            "CQLTEST_ATTEMPT": "2",
            "CQLTEST_RESULT_PATH": str(tmp_path / "r.json"),
            "CQLTEST_RUN": "run1",
        }
    )
    assert env.contact_points == ("127.0.1.1", "127.0.1.2")
    assert env.port == 9043
    assert env.local_dc == "dc1"
    assert (env.username, env.password) == ("cassandra", "pw")
    assert env.tls_ca == ca
    assert env.topology == {
        "dc1": DatacenterTopology(nodes=3, replication_factor=2),
        "dc2": DatacenterTopology(nodes=1, replication_factor=1),
    }
    assert env.replication() == {"dc1": 2, "dc2": 1}
    assert env.keyspace == "run1_smoke"
    assert env.params == {"rows": 10}
    assert (env.suite, env.attempt, env.run) == ("smoke", 2, "run1")
    assert env.result_path == tmp_path / "r.json"


def test_defaults_when_unset() -> None:
    env = read_env({})
    assert env.contact_points == ()
    assert env.port == 9042
    assert env.attempt == 1
    assert env.result_path is None
    assert env.topology == {}
    with pytest.raises(EnvError, match="CQLTEST_CONTACT_POINTS"):
        env.require_contact_points()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("CQLTEST_PORT", "abc", "CQLTEST_PORT='abc' is not an integer"),
        ("CQLTEST_PORT", "70000", "CQLTEST_PORT=70000 is out of range"),
        ("CQLTEST_ATTEMPT", "0", "CQLTEST_ATTEMPT=0 is out of range"),
        ("CQLTEST_CONTACT_POINTS", "a,,b", "CQLTEST_CONTACT_POINTS='a,,b'"),
        ("CQLTEST_KEYSPACE", "bad-name", "CQLTEST_KEYSPACE='bad-name' is not a valid keyspace"),
        ("CQLTEST_PARAMS", "[1]", "CQLTEST_PARAMS='[1]' must be a JSON object"),
        ("CQLTEST_PARAMS", "{nope", "CQLTEST_PARAMS='{nope' is not valid JSON"),
        ("CQLTEST_TOPOLOGY", '{"dc1": 3}', "CQLTEST_TOPOLOGY: datacenter 'dc1' must map"),
        ("CQLTEST_TOPOLOGY", '{"dc1": {"nodes": 0}}', "dc1.nodes=0 must be a positive"),
        (
            "CQLTEST_TOPOLOGY",
            '{"dc1": {"nodes": 1, "replicationFactor": 3}}',
            "dc1.replicationFactor=3 exceeds the datacenter's 1 node",
        ),
        ("CQLTEST_TLS_CA", "/nonexistent/ca.pem", "CQLTEST_TLS_CA='/nonexistent/ca.pem'"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, fragment: str) -> None:
    with pytest.raises(EnvError) as info:
        read_env({name: value})
    assert fragment in str(info.value)


def test_keyspace_defaults_from_suite_name() -> None:
    assert read_env({"CQLTEST_SUITE": "data-types"}).keyspace == "data_types"
    assert default_keyspace("9lives") == "s_9lives"
    assert len(default_keyspace("x" * 100)) == 48


def test_report_target_never_raises() -> None:
    target = read_report_target(
        {"CQLTEST_SUITE": "s", "CQLTEST_ATTEMPT": "zz", "CQLTEST_PORT": "bad"}
    )
    assert (target.suite, target.attempt, target.result_path) == ("s", 1, None)
