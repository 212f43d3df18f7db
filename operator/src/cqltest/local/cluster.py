"""``LocalCluster``: real Cassandra clusters on loopback addresses, synchronous and persistent.

This is the one place that turns a :class:`ClusterSpec` into running JVMs and back: it claims a
subnet (``state``), has each node's files written (``nodefiles``), spawns and signals processes
(``nodes``), waits until they are ready (``readiness``) and replaces the default superuser
(``superuser``). Every step that changes the machine is recorded in the cluster's state file, so
another process (the CLI) can pick up where this one left off.
"""

from __future__ import annotations

import builtins
import shutil
import signal
import time
from pathlib import Path

from cassandra.cluster import Cluster, Session

from cqltest.errors import InputError
from cqltest.local import cds, config, jars, netfaults, nodes, probe, state
from cqltest.local.nodefiles import write_node_files
from cqltest.local.readiness import NodeTimings, ProgressCallback, emit, wait_ready
from cqltest.local.superuser import DEFAULT_CREDENTIALS, setup_superuser
from cqltest.local.topology import (
    NATIVE_PORT,
    STORAGE_PORT,
    ClusterInfo,
    ClusterSpec,
    NodePlan,
    datacenter_addresses,
    plan_nodes,
    validate_datacenters,
    validate_heap,
    validate_name,
    validate_security,
)

__all__ = ["ClusterInfo", "LocalCluster", "NodeTimings", "ProgressCallback"]


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
                directory, lambda x: x not in kept and state.subnet_free(x, node_count)
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
            write_node_files(directory, cluster_state)
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
        # a partition table whose cluster is gone (destroyed by a process that died) goes too
        netfaults.reap(state.claimed_subnets())
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

    # ----------------------------------------------------------------- accessors

    @property
    def name(self) -> str:
        return self.state.spec.name

    def files(self, plan: NodePlan) -> config.NodeFiles:
        return config.NodeFiles(self.directory / plan.name)

    def _marker(self, plan: NodePlan) -> str:
        # The conf dir is on the node's command line (-Dcassandra.config) and unique to it.
        return str(self.files(plan).conf_dir)

    def _node(self, address: str) -> state.NodeState:
        for node in self.state.nodes:
            if address in (node.plan.address, node.plan.name):
                return node
        known = ", ".join(f"{n.plan.name}={n.plan.address}" for n in self.state.nodes)
        raise InputError(f"node {address!r} is not in cluster {self.name!r} (nodes: {known})")

    def is_running(self, node: state.NodeState) -> bool:
        return self._live_pid(node) is not None

    def _live_pid(self, node: state.NodeState) -> int | None:
        """The node's running process, also if another cqltest process (re)started it."""
        marker = self._marker(node.plan)
        if not nodes.is_running(node.pid, marker):
            node.pid = nodes.find_pid(marker) or node.pid
        return node.pid if nodes.is_running(node.pid, marker) else None

    def node_files(self, address: str) -> config.NodeFiles:
        return self.files(self._node(address).plan)

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
        targets = [node for node in self.state.nodes if not self.is_running(node)]
        started = self._launch(targets, on_event)
        try:
            with probe.quiet_driver():
                wait_ready(self, self.state.nodes, started, timeout, on_event)
                if self.state.spec.authentication and self.state.username is None:
                    setup_superuser(self)
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
        targets = [] if self.is_running(node) else [node]
        running = [n for n in self.state.nodes if n is node or self.is_running(n)]
        self._resume_paused(running, on_event)
        started = self._launch(targets, on_event)
        try:
            with probe.quiet_driver():
                wait_ready(self, running, started, timeout, on_event)
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
        running = [node for node in self.state.nodes if self.is_running(node)]
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
        netfaults.remove_cluster(self.state.subnet)
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
                emit(on_event, node.plan.name, "resumed (it was paused)")

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
            files = self.files(node.plan)
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
            emit(on_event, node.plan.name, f"JVM started (pid {node.pid}) on {node.plan.address}")
        state.save(self.directory, self.state)
        return started

    def login(self) -> probe.Credentials | None:
        if not self.state.spec.authentication:
            return None
        if self.state.username and self.state.password:
            return probe.Credentials(self.state.username, self.state.password)
        return DEFAULT_CREDENTIALS

    def connect(
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
