"""Each node's files on disk: cassandra.yaml, rack/dc properties, logging, TLS stores.

Rendering the text is :mod:`cqltest.local.config`'s (pure); this module decides where it goes,
creates the CA and node keystores a TLS cluster needs, and copies stores a caller gave. It runs
once, when a cluster is created; starting and stopping never rewrite these files.
"""

from __future__ import annotations

from pathlib import Path

from cqltest.local import certs, config, state


def write_node_files(directory: Path, cluster_state: state.ClusterState) -> None:
    """Write every node's configuration, keystores and directories; records the CA path in
    ``cluster_state`` (the caller saves it)."""
    spec = cluster_state.spec
    seeds = [node.plan.address for node in cluster_state.nodes if node.plan.seed]
    tls = directory / "tls"
    client_keystore = internode_keystore = internode_truststore = None
    if spec.client_stores is not None:
        client_keystore, client_truststore = certs.copy_stores(
            Path(spec.client_stores), tls / "client"
        )
        cluster_state.ca_path = str(client_truststore)
    if spec.internode_stores is not None:
        internode_keystore, internode_truststore = certs.copy_stores(
            Path(spec.internode_stores), tls / "internode"
        )
    ca_path = ca_key = None
    if (spec.client_tls and spec.client_stores is None) or (
        spec.internode_tls and spec.internode_stores is None
    ):
        ca_path, ca_key = certs.create_ca(tls, spec.name)
        if spec.client_stores is None:
            cluster_state.ca_path = str(ca_path)
    security = config.Security(
        spec.authentication,
        spec.client_tls,
        spec.internode_tls,
        ca_path,
        client_keystore=client_keystore,
        internode_keystore=internode_keystore,
        internode_truststore=internode_truststore,
    )
    for node in cluster_state.nodes:
        files = config.NodeFiles(directory / node.plan.name)
        files.conf_dir.mkdir(parents=True, exist_ok=True)
        files.log_dir.mkdir(parents=True, exist_ok=True)
        files.tmp_dir.mkdir(parents=True, exist_ok=True)
        if ca_path is not None and ca_key is not None:
            certs.create_node_keystore(ca_path, ca_key, node.plan.address, files.keystore)
        files.yaml.write_text(
            config.render_cassandra_yaml(
                spec.cassandra_name or spec.name, node.plan, seeds, files, security
            ),
            encoding="utf-8",
        )
        files.rackdc.write_text(config.render_rackdc(node.plan), encoding="utf-8")
        files.logback.write_text(config.render_logback(), encoding="utf-8")
