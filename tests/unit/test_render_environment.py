"""The suite environment contract as written by both launchers, read back by cqlsuites.env."""

from __future__ import annotations

import json

from cqlsuites.env import read_env
from cqltest.model import SuiteSpec
from cqltest.render.environment import Connection, keyspace_name, suite_variables


def test_the_reader_reads_what_the_writer_writes() -> None:
    connection = Connection(
        ("10.0.0.1", "10.0.0.2"),
        port=9142,
        local_dc="dc1",
        username="cassandra",
        password="secret",
        topology={"dc1": {"nodes": 3, "replicationFactor": 3}},
    )
    suite = SuiteSpec(name="data-types", params={"rows": 10})
    env = read_env(suite_variables(connection, run="nightly", suite=suite, attempt=2))
    assert env.contact_points == ("10.0.0.1", "10.0.0.2")
    assert (env.port, env.local_dc) == (9142, "dc1")
    assert (env.username, env.password) == ("cassandra", "secret")
    assert env.keyspace == keyspace_name("nightly", "data-types") == "nightly_data_types"
    assert env.replication() == {"dc1": 3}
    assert dict(env.params) == {"rows": 10}
    assert (env.suite, env.attempt, env.run) == ("data-types", 2, "nightly")


def test_only_what_the_connection_has() -> None:
    env = suite_variables(Connection(("h",)), run="r", suite=SuiteSpec(name="s"), attempt=1)
    assert not {"CQLTEST_USERNAME", "CQLTEST_PASSWORD", "CQLTEST_TLS_CA", "CQLTEST_LOCAL_DC"} & set(
        env
    )
    assert json.loads(env["CQLTEST_TOPOLOGY"]) == {}
    assert all(key.startswith("CQLTEST_") for key in env)


def test_a_user_without_password_gets_an_empty_one_and_the_ca_path() -> None:
    connection = Connection(("h",), username="u", ca_path="/etc/cqltest/ca/ca.crt")
    env = suite_variables(connection, run="r", suite=SuiteSpec(name="s"), attempt=1)
    assert env["CQLTEST_PASSWORD"] == ""
    assert env["CQLTEST_TLS_CA"] == "/etc/cqltest/ca/ca.crt"


def test_keyspace_names_are_valid_and_distinct() -> None:
    assert keyspace_name("9x", "s") == "r_9x_s"
    long = keyspace_name("r" * 60, "suite")
    assert len(long) == 48
    assert long != keyspace_name("r" * 60, "other")
