"""Rendered node configuration: the settings that make throwaway nodes fast and secure."""

from __future__ import annotations

from pathlib import Path

import yaml
from cqltest.local.config import (
    MAIN_CLASS,
    NodeFiles,
    Security,
    java_command,
    jvm_options,
    render_cassandra_yaml,
    render_logback,
    render_rackdc,
)
from cqltest.local.topology import ClusterSpec, DatacenterSpec, plan_nodes

SPEC = ClusterSpec(name="t", datacenters=[DatacenterSpec("dc1", 2), DatacenterSpec("dc2", 1)])
PLANS = plan_nodes(SPEC, 9)
FILES = NodeFiles(Path("/c/t/node2"))
SEEDS = ["127.0.9.1", "127.0.9.3"]


def render(security: Security | None = None) -> dict[str, object]:
    text = render_cassandra_yaml("t", PLANS[1], SEEDS, FILES, security or Security())
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def test_plain_node_yaml() -> None:
    conf = render()
    assert conf["cluster_name"] == "t"
    assert conf["num_tokens"] == 1
    assert int(str(conf["initial_token"])) == PLANS[1].token
    assert conf["auto_bootstrap"] is False
    assert conf["listen_address"] == conf["rpc_address"] == "127.0.9.2"
    assert conf["endpoint_snitch"] == "GossipingPropertyFileSnitch"
    seeds = conf["seed_provider"][0]["parameters"][0]["seeds"]  # type: ignore[index]
    assert seeds == "127.0.9.1:7000,127.0.9.3:7000"
    assert conf["authenticator"] == "AllowAllAuthenticator"
    assert conf["auto_snapshot"] is False
    assert conf["commitlog_sync"] == "periodic"
    assert conf["data_file_directories"] == ["/c/t/node2/data"]
    assert "client_encryption_options" not in conf
    assert "server_encryption_options" not in conf


def test_auth_and_tls_yaml() -> None:
    conf = render(Security(True, True, True, Path("/c/t/tls/ca.pem")))
    assert conf["authenticator"] == "PasswordAuthenticator"
    assert conf["authorizer"] == "CassandraAuthorizer"
    client = conf["client_encryption_options"]
    assert isinstance(client, dict)
    assert client["enabled"] is True
    assert client["optional"] is False
    assert client["keystore"] == "/c/t/node2/conf/node.pem"
    server = conf["server_encryption_options"]
    assert isinstance(server, dict)
    assert server["internode_encryption"] == "all"
    assert server["truststore"] == "/c/t/tls/ca.pem"
    assert server["ssl_context_factory"]["class_name"].endswith("PEMBasedSslContextFactory")


def test_rackdc_and_logback() -> None:
    assert render_rackdc(PLANS[2]) == "dc=dc2\nrack=rack1\n"
    assert "${cassandra.logdir}/system.log" in render_logback()


def test_java_command() -> None:
    command = java_command(
        "/jdk/bin/java",
        PLANS[0],
        FILES,
        Path("/cache/lib"),
        "256M",
        extra=["-XX:TieredStopAtLevel=1"],
        cds_archive=Path("/cache/x.jsa"),
    )
    assert command[0] == "/jdk/bin/java"
    assert command[-3:] == ["-cp", "/cache/lib/*", MAIN_CLASS]
    assert "-Xmx256M" in command
    assert "-XX:SharedArchiveFile=/cache/x.jsa" in command
    assert f"-Dcassandra.jmx.local.port={PLANS[0].jmx_port}" in command
    assert "-Dcassandra.config=file:///c/t/node2/conf/cassandra.yaml" in command
    assert (
        "-Dcassandra-rackdc.properties=file:///c/t/node2/conf/cassandra-rackdc.properties"
        in command
    )
    # Extra flags come after ours so the user's choice wins.
    assert command.index("-XX:TieredStopAtLevel=1") > command.index("-XX:+UseG1GC")


def test_jvm_options_carry_the_jdk17_module_flags() -> None:
    options = jvm_options()
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in options
    assert "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED" in options
    assert "-Dcassandra.skip_wait_for_gossip_to_settle=0" in options
    assert all(option.startswith("-") for option in options)


def test_given_stores_replace_the_generated_keystore_and_ca() -> None:
    conf = render(
        Security(
            True,
            True,
            True,
            None,
            client_keystore=Path("/c/t/tls/client/keystore.pem"),
            internode_keystore=Path("/c/t/tls/internode/keystore.pem"),
            internode_truststore=Path("/c/t/tls/internode/truststore.pem"),
        )
    )
    client = conf["client_encryption_options"]
    server = conf["server_encryption_options"]
    assert isinstance(client, dict)
    assert isinstance(server, dict)
    assert client["keystore"] == "/c/t/tls/client/keystore.pem"
    assert server["keystore"] == "/c/t/tls/internode/keystore.pem"
    assert server["truststore"] == "/c/t/tls/internode/truststore.pem"


def test_cassandra_cluster_name_may_differ_from_the_directory_name() -> None:
    text = render_cassandra_yaml("ns/Demo Cluster", PLANS[0], SEEDS, FILES, Security())
    assert yaml.safe_load(text)["cluster_name"] == "ns/Demo Cluster"
