"""Per-node configuration files and the JVM command line, rendered from a node's plan.

Pure (apart from reading the packaged templates), so every setting that makes a throwaway node
fast can be checked in unit tests. The templates live in ``resources/`` with a comment on each
setting saying why it is there; this module only fills in the per-node values.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from cqltest.local.topology import NATIVE_PORT, STORAGE_PORT, NodePlan

MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"


@dataclass(frozen=True)
class NodeFiles:
    """Paths of one node's files; everything lives under ``node_dir``."""

    node_dir: Path

    @property
    def conf_dir(self) -> Path:
        return self.node_dir / "conf"

    @property
    def log_dir(self) -> Path:
        return self.node_dir / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.node_dir / "tmp"

    @property
    def yaml(self) -> Path:
        return self.conf_dir / "cassandra.yaml"

    @property
    def rackdc(self) -> Path:
        return self.conf_dir / "cassandra-rackdc.properties"

    @property
    def logback(self) -> Path:
        return self.conf_dir / "logback.xml"

    @property
    def system_log(self) -> Path:
        return self.log_dir / "system.log"

    @property
    def stdout_log(self) -> Path:
        return self.log_dir / "stdout.log"

    @property
    def keystore(self) -> Path:
        return self.conf_dir / "node.pem"


@dataclass(frozen=True)
class Security:
    """Who may connect and how. TLS uses each node's generated keystore and ``ca_path`` as the
    internode truststore unless the caller gave stores (the same files for every node)."""

    authentication: bool = False
    client_tls: bool = False
    internode_tls: bool = False
    ca_path: Path | None = None
    client_keystore: Path | None = None
    internode_keystore: Path | None = None
    internode_truststore: Path | None = None


def _resource(name: str) -> str:
    return (resources.files("cqltest.local") / "resources" / name).read_text(encoding="utf-8")


def render_cassandra_yaml(
    cluster_name: str,
    node: NodePlan,
    seeds: list[str],
    files: NodeFiles,
    security: Security,
) -> str:
    text = Template(_resource("cassandra.yaml")).substitute(
        cluster_name=cluster_name,
        initial_token=str(node.token),
        address=node.address,
        storage_port=STORAGE_PORT,
        native_port=NATIVE_PORT,
        seeds=",".join(f"{seed}:{STORAGE_PORT}" for seed in seeds),
        authenticator="PasswordAuthenticator"
        if security.authentication
        else "AllowAllAuthenticator",
        authorizer="CassandraAuthorizer" if security.authentication else "AllowAllAuthorizer",
        node_dir=str(files.node_dir),
    )
    if security.client_tls:
        text += Template(_resource("client-tls.yaml")).substitute(
            keystore=str(security.client_keystore or files.keystore)
        )
    if security.internode_tls:
        truststore = security.internode_truststore or security.ca_path
        if truststore is None:
            raise ValueError("internode TLS needs the CA path or a truststore")
        text += Template(_resource("internode-tls.yaml")).substitute(
            keystore=str(security.internode_keystore or files.keystore),
            truststore=str(truststore),
        )
    return text


def render_rackdc(node: NodePlan) -> str:
    return f"dc={node.datacenter}\nrack={node.rack}\n"


def render_logback() -> str:
    return _resource("logback.xml")


def jvm_options() -> list[str]:
    """The static JVM flags from ``resources/jvm17-server.options`` (comments stripped)."""
    lines = (line.strip() for line in _resource("jvm17-server.options").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def java_command(
    java: str,
    node: NodePlan,
    files: NodeFiles,
    lib_dir: Path,
    heap: str,
    extra: list[str] | None = None,
    cds_archive: Path | None = None,
) -> list[str]:
    """The full command line of one node, in the foreground (we own the process, not a script).

    Unlike the distribution, the conf dir is not on the classpath: every file is named by a
    system property instead, so all nodes of a version share one classpath (and so one
    class-data-sharing archive).
    """
    # Class-data sharing: the classes a node loads at start-up, pre-parsed and verified once per
    # version (see cqltest.local.cds), cut a node's start-up CPU by about a third.
    sharing = [f"-XX:SharedArchiveFile={cds_archive}"] if cds_archive is not None else []
    return [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        *jvm_options(),
        *sharing,
        # Local-only JMX (bound to 127.0.0.1) on a per-node port, so nodetool works per node.
        f"-Dcassandra.jmx.local.port={node.jmx_port}",
        "-Dcom.sun.management.jmxremote.authenticate=false",
        # Without this Cassandra closes stdout/stderr; we keep them in logs/stdout.log so a JVM
        # that dies before logback starts still leaves its reason behind.
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.config={files.yaml.as_uri()}",
        f"-Dcassandra-rackdc.properties={files.rackdc.as_uri()}",
        f"-Dcassandra.logdir={files.log_dir}",
        f"-Dcassandra.storagedir={files.node_dir}",
        f"-Dlogback.configurationFile={files.logback.as_uri()}",
        # Native libraries (lz4, snappy, JNA) unpack here, not into /tmp, so destroy removes them.
        f"-Djava.io.tmpdir={files.tmp_dir}",
        # The distribution's conf/triggers; an empty one saves a warning every minute.
        f"-Dcassandra.triggers_dir={files.tmp_dir}",
        *(extra or []),
        "-cp",
        f"{lib_dir}/*",
        MAIN_CLASS,
    ]
