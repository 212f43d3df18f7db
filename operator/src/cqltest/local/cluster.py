"""``LocalCluster``: real Cassandra clusters on loopback addresses, synchronous and persistent.

This is the one place that turns a :class:`ClusterSpec` into running JVMs and back: it writes
each node's files (``config``), claims a subnet (``state``), spawns and signals processes
(``nodes``) and judges readiness over CQL (``probe``). Every step that changes the machine is
recorded in the cluster's state file, so another process (the CLI) can pick up where this one
left off.
"""

from __future__ import annotations

import builtins
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cassandra import AuthenticationFailed
from cassandra.cluster import Cluster, NoHostAvailable, Session

from cqltest.errors import ClusterError, InputError
from cqltest.local import cds, certs, config, jars, nodes, probe, state
from cqltest.local.topology import (
    NATIVE_PORT,
    STORAGE_PORT,
    ClusterSpec,
    NodePlan,
    datacenter_addresses,
    jmx_port,
    plan_nodes,
    subnet_address,
    validate_datacenters,
    validate_heap,
    validate_name,
    validate_security,
)

_DEFAULT_CREDENTIALS = probe.Credentials("cassandra", "cassandra")
_POLL = 0.25
_RECONNECT = 1.0

#: ``on_event(node_name, message)``: progress reports while nodes start (the CLI shows them).
ProgressCallback = Callable[[str, str], None]


@dataclass(frozen=True)
class ClusterInfo:
    """How to reach a running cluster; ``to_dict`` is the ``cluster up --output json`` object."""

    name: str
    contact_points: list[str]
    port: int
    datacenters: dict[str, list[str]]
    username: str | None = None
    password: str | None = None
    ca_path: str | None = None
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "contact_points": list(self.contact_points),
            "port": self.port,
            "datacenters": {dc: list(addrs) for dc, addrs in self.datacenters.items()},
            "username": self.username,
            "password": self.password,
            "ca_path": self.ca_path,
        }


@dataclass
class NodeTimings:
    """Seconds since the start call at which a node reached each stage (for the benchmark)."""

    spawned: float | None = None
    cql_listening: float | None = None
    cql_answering: float | None = None
    peers_up: float | None = None


@dataclass
class _Probe:
    node: NodePlan
    timings: NodeTimings = field(default_factory=NodeTimings)
    cluster: Cluster | None = None
    session: Session | None = None
    ready: bool = False
    last_view: str = "not answering CQL yet"
    #: A failed login costs the node a bcrypt hash and us a driver; don't retry every poll.
    next_connect: float = 0.0

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.shutdown()
        self.cluster = None
        self.session = None


class LocalCluster:
    """A cluster of local Cassandra processes, persisted under ``root/<name>``."""

    def __init__(self, directory: Path, cluster_state: state.ClusterState) -> None:
        self.directory = directory
        self.state = cluster_state
        self.last_timings: dict[str, NodeTimings] = {}

    # ----------------------------------------------------------------- construction

    @classmethod
    def create(
        cls, spec: ClusterSpec, root: Path | str | None = None, *, owned: bool = False
    ) -> LocalCluster:
        """Validate, fetch what is missing, and write every node's files; starts nothing.

        ``owned``: the cluster is this process's throwaway; if the process dies without
        destroying it (SIGKILL, a crash), the next ``create`` on this machine reaps it. Keep a
        cluster past its owner with :meth:`disown`. Nothing is left behind if this raises.
        """
        cls.reap_orphans()
        validate_name(spec.name)
        validate_datacenters(spec.datacenters)
        validate_heap(spec.heap)
        validate_security(spec)
        version = jars.resolve_version(spec.version)
        jars.find_java()
        jars.ensure_jars(version)
        base = Path(root) if root is not None else state.default_root()
        directory = base / spec.name
        if (directory / state.STATE_FILE).exists():
            raise InputError(
                f"cluster {spec.name!r} already exists in {base} "
                f"(remove it with 'cqltest cluster down --name {spec.name}')"
            )
        directory.mkdir(parents=True, exist_ok=True)
        creating = directory / ".creating"
        creating.touch()
        subnet: int | None = None
        try:
            node_count = sum(dc.nodes for dc in spec.datacenters)
            # Stopped clusters under this root keep their subnet even if /tmp (and with it the
            # claim) was wiped, so they can be started again without colliding.
            kept = {other.state.subnet for other in cls.list(base) if other.name != spec.name}
            subnet = state.claim_subnet(
                directory, lambda x: x not in kept and _subnet_free(x, node_count)
            )
            plans = plan_nodes(spec, subnet)
            cluster_state = state.ClusterState(
                spec=spec,
                version=version,
                subnet=subnet,
                nodes=[state.NodeState(plan) for plan in plans],
                owner=state.Owner.current() if owned else None,
            )
            cluster = cls(directory, cluster_state)
            cluster._write_node_files()
            state.save(directory, cluster_state)
        except BaseException:
            if subnet is not None:
                state.release_subnet(subnet, directory)
            shutil.rmtree(directory, ignore_errors=True)
            raise
        finally:
            creating.unlink(missing_ok=True)
        return cluster

    @classmethod
    def reap_orphans(cls) -> builtins.list[str]:
        """Destroy every owned cluster on this machine whose owner process is gone; their
        directories (names are returned)."""
        reaped = []
        for directory in state.claimed_cluster_dirs():
            try:
                orphan = cls(directory, state.load(directory))
            except (InputError, ValueError, KeyError, TypeError, OSError):
                continue  # being created, or written by another version: not ours to judge
            owner = orphan.state.owner
            if owner is None or owner.alive():
                continue
            try:
                orphan.destroy()
            except OSError:
                continue  # another process reaping it at the same time; never fail a create
            reaped.append(str(directory))
        return reaped

    def disown(self) -> None:
        """Keep this cluster after its owner exits (a kept cluster of ``cqltest run``).

        Nothing to do if the cluster is gone already (``cqltest cluster down`` meanwhile)."""
        if self.state.owner is None or not (self.directory / state.STATE_FILE).exists():
            return
        self.state.owner = None
        state.save(self.directory, self.state)

    @classmethod
    def load(cls, name: str, root: Path | str | None = None) -> LocalCluster:
        base = Path(root) if root is not None else state.default_root()
        directory = base / name
        return cls(directory, state.load(directory))

    @classmethod
    def list(cls, root: Path | str | None = None) -> builtins.list[LocalCluster]:
        base = Path(root) if root is not None else state.default_root()
        if not base.is_dir():
            return []
        clusters = []
        for path in sorted(base.glob(f"*/{state.STATE_FILE}")):
            try:
                clusters.append(cls(path.parent, state.load(path.parent)))
            except (ValueError, KeyError, TypeError):
                continue  # not a state file this version of cqltest wrote; leave it alone
        return clusters

    @classmethod
    def exists(cls, name: str, root: Path | str | None = None) -> bool:
        base = Path(root) if root is not None else state.default_root()
        return (base / name / state.STATE_FILE).is_file()

    def _write_node_files(self) -> None:
        spec = self.state.spec
        seeds = [node.plan.address for node in self.state.nodes if node.plan.seed]
        tls = self.directory / "tls"
        client_keystore = internode_keystore = internode_truststore = None
        if spec.client_stores is not None:
            client_keystore, client_truststore = certs.copy_stores(
                Path(spec.client_stores), tls / "client"
            )
            self.state.ca_path = str(client_truststore)
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
                self.state.ca_path = str(ca_path)
        security = config.Security(
            spec.authentication,
            spec.client_tls,
            spec.internode_tls,
            ca_path,
            client_keystore=client_keystore,
            internode_keystore=internode_keystore,
            internode_truststore=internode_truststore,
        )
        for node in self.state.nodes:
            files = self._files(node.plan)
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

    # ----------------------------------------------------------------- accessors

    @property
    def name(self) -> str:
        return self.state.spec.name

    def _files(self, plan: NodePlan) -> config.NodeFiles:
        return config.NodeFiles(self.directory / plan.name)

    def _marker(self, plan: NodePlan) -> str:
        # The conf dir is on the node's command line (-Dcassandra.config) and unique to it.
        return str(self._files(plan).conf_dir)

    def _node(self, address: str) -> state.NodeState:
        for node in self.state.nodes:
            if address in (node.plan.address, node.plan.name):
                return node
        known = ", ".join(f"{n.plan.name}={n.plan.address}" for n in self.state.nodes)
        raise InputError(f"node {address!r} is not in cluster {self.name!r} (nodes: {known})")

    def _running(self, node: state.NodeState) -> bool:
        return self._live_pid(node) is not None

    def _live_pid(self, node: state.NodeState) -> int | None:
        """The node's running process, also if another cqltest process (re)started it."""
        marker = self._marker(node.plan)
        if not nodes.is_running(node.pid, marker):
            node.pid = nodes.find_pid(marker) or node.pid
        return node.pid if nodes.is_running(node.pid, marker) else None

    def node_files(self, address: str) -> config.NodeFiles:
        return self._files(self._node(address).plan)

    def info(self) -> ClusterInfo:
        plans = [node.plan for node in self.state.nodes]
        return ClusterInfo(
            name=self.name,
            contact_points=[plan.address for plan in plans],
            port=NATIVE_PORT,
            datacenters=datacenter_addresses(plans),
            username=self.state.username,
            password=self.state.password,
            ca_path=self.state.ca_path if self.state.spec.client_tls else None,
            version=self.state.version,
        )

    def status(self) -> dict[str, str]:
        """``address -> "UP"|"DOWN"|"PAUSED"``: UP when the node's process runs and its CQL port
        answers, PAUSED when it is frozen by :meth:`pause_node`."""
        return {node.plan.address: self._node_status(node) for node in self.state.nodes}

    def _node_status(self, node: state.NodeState) -> str:
        pid = self._live_pid(node)
        if pid is None:
            return "DOWN"
        if nodes.is_paused(pid):
            return "PAUSED"
        return "UP" if nodes.port_open(node.plan.address, NATIVE_PORT) else "DOWN"

    # ----------------------------------------------------------------- lifecycle

    def start(
        self, timeout: float = 120.0, on_event: ProgressCallback | None = None
    ) -> ClusterInfo:
        """Start every node that is not running, all at once, and wait until the cluster is ready.

        Ready means every node answers CQL and sees every other node UP. If a node dies or the
        timeout passes, the nodes this call started are killed and ClusterError carries the log
        tail.
        """
        self._resume_paused(self.state.nodes, on_event)
        targets = [node for node in self.state.nodes if not self._running(node)]
        started = self._launch(targets, on_event)
        try:
            with probe.quiet_driver():
                self._wait_ready(self.state.nodes, started, timeout, on_event)
                if self.state.spec.authentication and self.state.username is None:
                    self._setup_superuser()
        except BaseException:
            for node in targets:
                if node.pid:
                    nodes.kill(node.pid, self._marker(node.plan))
            raise
        return self.info()

    def start_node(
        self, address: str, timeout: float = 120.0, on_event: ProgressCallback | None = None
    ) -> None:
        """Start one stopped node and wait until it and every running peer see each other UP."""
        node = self._node(address)
        targets = [] if self._running(node) else [node]
        running = [n for n in self.state.nodes if n is node or self._running(n)]
        self._resume_paused(running, on_event)
        started = self._launch(targets, on_event)
        try:
            with probe.quiet_driver():
                self._wait_ready(running, started, timeout, on_event)
        except BaseException:
            for launched in targets:
                if launched.pid:
                    nodes.kill(launched.pid, self._marker(launched.plan))
            raise

    def stop_node(self, address: str) -> None:
        """Stop one node cleanly (SIGTERM: Cassandra drains and flushes)."""
        node = self._node(address)
        pid = self._live_pid(node)
        if pid:
            nodes.stop(pid, self._marker(node.plan))

    def kill_node(self, address: str) -> None:
        """Kill one node with SIGKILL, like a crash: no drain, no flush."""
        node = self._node(address)
        pid = self._live_pid(node)
        if pid:
            nodes.kill(pid, self._marker(node.plan))

    def pause_node(self, address: str) -> None:
        """Freeze one node with SIGSTOP: its sockets stay open but it answers nothing, so peers
        and clients see a hung machine (requests time out) until the failure detector convicts
        it, rather than the refused connections of a dead one."""
        node = self._node(address)
        pid = self._live_pid(node)
        if pid:
            nodes.signal_node(pid, signal.SIGSTOP)
            # the group stop reaches the JVM's threads asynchronously
            deadline = time.monotonic() + 10
            while not nodes.is_paused(pid) and time.monotonic() < deadline:
                time.sleep(0.02)

    def resume_node(self, address: str) -> None:
        """Let a paused node run again (SIGCONT)."""
        node = self._node(address)
        pid = self._live_pid(node)
        if pid:
            nodes.signal_node(pid, signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (data kept); nodes are signalled together and then awaited."""
        running = [node for node in self.state.nodes if self._running(node)]
        for node in running:
            assert node.pid is not None
            nodes.signal_node(node.pid, signal.SIGTERM)
            nodes.signal_node(node.pid, signal.SIGCONT)  # a paused node must run to drain
        for node in running:
            assert node.pid is not None
            if not nodes.wait_exit(node.pid, self._marker(node.plan), timeout):
                nodes.kill(node.pid, self._marker(node.plan))

    def destroy(self) -> None:
        """Kill every node and delete the cluster's directory and subnet claim."""
        for node in self.state.nodes:
            pid = self._live_pid(node)
            if pid:
                nodes.kill(pid, self._marker(node.plan))
        shutil.rmtree(self.directory, ignore_errors=True)
        state.release_subnet(self.state.subnet, self.directory)

    # ----------------------------------------------------------------- internals

    def _resume_paused(
        self, candidates: builtins.list[state.NodeState], on_event: ProgressCallback | None
    ) -> None:
        """A paused node counts as running but would never answer: starting means resuming."""
        for node in candidates:
            pid = self._live_pid(node)
            if pid and nodes.is_paused(pid):
                nodes.signal_node(pid, signal.SIGCONT)
                _emit(on_event, node.plan.name, "resumed (it was paused)")

    def _launch(
        self, targets: builtins.list[state.NodeState], on_event: ProgressCallback | None
    ) -> float:
        """Spawn ``targets`` (after checking their ports); return the monotonic start time."""
        java = jars.find_java()
        lib = jars.ensure_jars(self.state.version)
        archive = cds.existing_archive(self.state.version, java)
        for node in targets:
            plan = node.plan
            nodes.check_bindable(plan.address, NATIVE_PORT)
            nodes.check_bindable(plan.address, STORAGE_PORT)
            nodes.check_bindable("127.0.0.1", plan.jmx_port)
        started = time.monotonic()
        self.last_timings = {}
        for node in targets:
            files = self._files(node.plan)
            command = config.java_command(
                java,
                node.plan,
                files,
                lib,
                self.state.spec.heap,
                extra=self.state.spec.jvm_options,
                cds_archive=archive,
            )
            node.pid = nodes.spawn(command, files.node_dir, files.stdout_log)
            self.last_timings[node.plan.name] = NodeTimings(spawned=time.monotonic() - started)
            _emit(on_event, node.plan.name, f"JVM started (pid {node.pid}) on {node.plan.address}")
        state.save(self.directory, self.state)
        return started

    def _credentials(self) -> probe.Credentials | None:
        if not self.state.spec.authentication:
            return None
        if self.state.username and self.state.password:
            return probe.Credentials(self.state.username, self.state.password)
        return _DEFAULT_CREDENTIALS

    def _wait_ready(
        self,
        members: builtins.list[state.NodeState],
        started: float,
        timeout: float,
        on_event: ProgressCallback | None,
    ) -> None:
        deadline = time.monotonic() + timeout
        addresses = {node.plan.address for node in members}
        probes = {node.plan.address: _Probe(node.plan) for node in members}
        for node_probe in probes.values():
            node_probe.timings = self.last_timings.setdefault(node_probe.node.name, NodeTimings())
        try:
            while True:
                for node in members:
                    node_probe = probes[node.plan.address]
                    if node_probe.ready:
                        continue
                    if not self._running(node):
                        raise ClusterError(self._died_message(node.plan))
                    self._advance(node_probe, addresses, started, on_event)
                if all(p.ready for p in probes.values()):
                    return
                if time.monotonic() > deadline:
                    raise ClusterError(self._timeout_message(probes, timeout))
                time.sleep(_POLL)
        finally:
            for node_probe in probes.values():
                node_probe.close()

    def _advance(
        self,
        node_probe: _Probe,
        addresses: set[str],
        started: float,
        on_event: ProgressCallback | None,
    ) -> None:
        plan = node_probe.node
        timings = node_probe.timings
        if node_probe.session is None:
            if not nodes.port_open(plan.address, NATIVE_PORT, timeout=0.2):
                return
            if timings.cql_listening is None:
                timings.cql_listening = time.monotonic() - started
                _emit(on_event, plan.name, "CQL port open")
            if time.monotonic() < node_probe.next_connect:
                return
            try:
                node_probe.cluster, node_probe.session = self._connect(
                    plan.address, self._credentials(), timeout=5.0
                )
            except Exception as exc:  # not ready yet (auth not set up, still starting)
                node_probe.last_view = f"CQL connection failed: {exc}"
                node_probe.next_connect = time.monotonic() + _RECONNECT
                return
            timings.cql_answering = time.monotonic() - started
            _emit(on_event, plan.name, "answers CQL")
        assert node_probe.session is not None
        others = addresses - {plan.address}
        try:
            view = probe.peer_view(node_probe.session)
        except Exception as exc:
            node_probe.last_view = f"peer query failed: {exc}"
            return
        up = view.listed & view.connected & others
        node_probe.last_view = (
            f"sees {len(up)}/{len(others)} peers UP: {sorted(up)} "
            f"(gossip lists {sorted(view.listed)}, connected to {sorted(view.connected)})"
        )
        if up == others:
            node_probe.ready = True
            timings.peers_up = time.monotonic() - started
            _emit(on_event, plan.name, f"ready, sees all {len(others)} peers UP")
            node_probe.close()

    def _connect(
        self, address: str, credentials: probe.Credentials | None, timeout: float = 10.0
    ) -> tuple[Cluster, Session]:
        """A session pinned to one node, with this cluster's client TLS if it has one."""
        spec = self.state.spec
        return probe.connect_one(
            address,
            NATIVE_PORT,
            credentials,
            self.state.ca_path if spec.client_tls else None,
            timeout=timeout,
            check_hostname=spec.client_stores is None,
        )

    def _setup_superuser(self) -> None:
        """Replicate system_auth to every node and replace the well-known default superuser.

        A superuser named ``cassandra`` (a caller's choice) is the default role with the given
        password instead: it is altered, not replaced.
        """
        spec = self.state.spec
        first = self.state.nodes[0].plan.address
        replication = ", ".join(f"'{dc.name}': {dc.nodes}" for dc in spec.datacenters)
        password = spec.superuser_password or secrets.token_urlsafe(18)
        role = '"' + spec.superuser.replace('"', '""') + '"'
        replaces_default = spec.superuser != _DEFAULT_CREDENTIALS.username
        deadline = time.monotonic() + 60
        while True:
            try:
                cluster, session = self._connect(first, _DEFAULT_CREDENTIALS)
                try:
                    session.execute(
                        "ALTER KEYSPACE system_auth WITH replication = "
                        f"{{'class': 'NetworkTopologyStrategy', {replication}}}"
                    )
                    session.execute(
                        f"CREATE ROLE IF NOT EXISTS {role} WITH PASSWORD = %s "
                        "AND SUPERUSER = true AND LOGIN = true"
                        if replaces_default
                        else f"ALTER ROLE {role} WITH PASSWORD = %s",
                        (password,),
                    )
                finally:
                    cluster.shutdown()
                break
            except Exception as exc:
                # The default role is created asynchronously just after start-up, and on a
                # multi-node cluster its superuser flag can be unreadable for a moment
                # (Unauthorized), so the whole setup is retried until the deadline.
                if time.monotonic() > deadline:
                    raise ClusterError(f"cannot set up the superuser: {exc}") from exc
                time.sleep(0.5)
        self.state.username, self.state.password = spec.superuser, password
        state.save(self.directory, self.state)
        cluster, session = self._connect(first, probe.Credentials(spec.superuser, password))
        try:
            if replaces_default:
                session.execute("DROP ROLE IF EXISTS cassandra")
        finally:
            cluster.shutdown()
        self._wait_default_login_refused()

    def _wait_default_login_refused(self) -> None:
        """Report the cluster ready only once no node still accepts cassandra/cassandra.

        Each node caches credentials it has checked (credentials_validity, 2 s by default), so
        for a moment after the DROP the setup's own login still works; a client connecting then
        would see the well-known superuser alive.
        """
        for node in self.state.nodes:
            deadline = time.monotonic() + 30
            while True:
                try:
                    cluster, _ = self._connect(node.plan.address, _DEFAULT_CREDENTIALS)
                except Exception as exc:
                    if isinstance(exc, NoHostAvailable) and any(
                        isinstance(e, AuthenticationFailed) for e in _host_errors(exc)
                    ):
                        break
                    if time.monotonic() > deadline:
                        raise ClusterError(
                            f"node {node.plan.name} neither refused nor accepted the default "
                            f"superuser: {exc}"
                        ) from exc
                else:
                    cluster.shutdown()
                    if time.monotonic() > deadline:
                        raise ClusterError(
                            f"node {node.plan.name} still accepts the dropped 'cassandra' role"
                        )
                time.sleep(0.3)

    def _died_message(self, plan: NodePlan) -> str:
        files = self._files(plan)
        return (
            f"node {plan.name} ({plan.address}) of cluster {self.name!r} died while starting\n"
            + nodes.log_tail([files.system_log, files.stdout_log])
        )

    def _timeout_message(self, probes: dict[str, _Probe], timeout: float) -> str:
        lines = [f"cluster {self.name!r} was not ready after {timeout:.0f}s:"]
        tails: builtins.list[Path] = []
        for address, node_probe in probes.items():
            if node_probe.ready:
                continue
            lines.append(f"  {node_probe.node.name} ({address}): {node_probe.last_view}")
            tails.append(self._files(node_probe.node).system_log)
        return "\n".join(lines) + "\n" + nodes.log_tail(tails, warnings=10)


def _host_errors(exc: NoHostAvailable) -> builtins.list[object]:
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    return builtins.list(errors.values())


def _emit(on_event: ProgressCallback | None, node: str, message: str) -> None:
    if on_event is not None:
        on_event(node, message)


def _subnet_free(subnet: int, node_count: int) -> bool:
    """A subnet is usable when none of its node addresses and JMX ports is taken."""
    for index in range(node_count):
        address = subnet_address(subnet, index)
        if not (
            nodes.is_bindable(address, NATIVE_PORT)
            and nodes.is_bindable(address, STORAGE_PORT)
            and nodes.is_bindable("127.0.0.1", jmx_port(subnet, index))
        ):
            return False
    return True


def build_class_archive(version: str | None = None, timeout: float = 300.0) -> Path | None:
    """Dump the class-data-sharing archive of ``version`` once (see :mod:`cqltest.local.cds`).

    Starts a throwaway 1-node cluster with ``-XX:ArchiveClassesAtExit`` and stops it cleanly,
    which makes the JVM write the archive; idempotent. Returns None if the JVM wrote nothing
    (start-up still works without the archive).
    """
    version = jars.resolve_version(version)
    java = jars.find_java()
    existing = cds.existing_archive(version, java)
    if existing is not None:
        return existing
    target = cds.archive_path(version, java)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix="cqltest-cds-") as tmp:
        spec = ClusterSpec(name="cds", jvm_options=[f"-XX:ArchiveClassesAtExit={partial}"])
        archiving = LocalCluster.create(spec, root=tmp, owned=True)
        try:
            archiving.start(timeout=timeout)
            # SIGTERM: the JVM runs its exit path, which is where it writes the archive.
            archiving.stop(timeout=120.0)
        finally:
            archiving.destroy()
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        return None
    partial.replace(target)
    return target
