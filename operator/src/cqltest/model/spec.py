"""The ``spec`` of a TestRun: what to test against and which suites to run, in what order.

The models are the single source of truth: ``cqltest validate`` checks manifests with them and
``cqltest crd`` derives the CustomResourceDefinition schema from them, so the apiserver and the
CLI agree on every field. Rules that JSON schema can express live in the field types; rules it
cannot (cross-field checks) are CEL expressions attached here through ``json_schema_extra`` and
repeated as Python checks in :mod:`cqltest.model.validation`, so both modes reject the same input.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue

from cqltest.model.faults import MAX_FAULTS, FaultSpec
from cqltest.model.pool import DEFAULT_POOL, PoolPolicy
from cqltest.model.types import CamelModel, DnsLabel, Duration

MAX_SUITES = 64
MAX_DEPENDENCIES = 16
MAX_DATACENTERS = 8
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"

Teardown = Literal["Always", "OnSuccess", "Never"]


def _cel(*rules: tuple[str, str] | tuple[str, str, str]) -> ConfigDict:
    """Attach CEL ``x-kubernetes-validations`` (rule, message[, fieldPath]) to a model's schema.

    The fieldPath makes the apiserver name the offending field, as ``cqltest validate`` does.
    """
    validations: list[JsonValue] = []
    for rule, message, *field_path in rules:
        validation: dict[str, JsonValue] = {"rule": rule, "message": message}
        if field_path:
            validation["fieldPath"] = field_path[0]
        validations.append(validation)
    return ConfigDict(json_schema_extra={"x-kubernetes-validations": validations})


def _no_schema_default(schema: dict[str, JsonValue]) -> None:
    schema.pop("default", None)


class Tls(CamelModel):
    """Which connections of a provisioned cluster use TLS."""

    client: bool = Field(default=False, description="Clients (and suites) connect over TLS.")
    internode: bool = Field(default=False, description="Nodes talk to each other over TLS.")


class Security(CamelModel):
    """Security settings of a provisioned cluster."""

    authentication: bool = Field(
        default=False,
        description="Enable PasswordAuthenticator; suites get the superuser credentials.",
    )
    tls: Tls = Field(default_factory=Tls)


class Resources(CamelModel):
    """Per-node resources; local mode uses ``heap`` only."""

    heap: str | None = Field(default=None, pattern=QUANTITY_PATTERN, description="JVM heap.")
    cpu: str | None = Field(default=None, pattern=QUANTITY_PATTERN)
    memory: str | None = Field(default=None, pattern=QUANTITY_PATTERN)
    storage: str | None = Field(default=None, pattern=QUANTITY_PATTERN)
    storage_class_name: str | None = Field(default=None, max_length=253)


class Datacenter(CamelModel):
    """One datacenter of a provisioned cluster, or the shape of an existing one."""

    model_config = _cel(
        (
            "!has(self.replicationFactor) || self.replicationFactor <= self.size",
            "replicationFactor must not exceed the datacenter's size",
            ".replicationFactor",
        ),
        (
            "!has(self.racks) || size(self.racks) <= self.size",
            "a datacenter cannot have more racks than nodes",
            ".racks",
        ),
    )

    name: DnsLabel
    size: int = Field(ge=1, le=100, description="Number of Cassandra nodes.")
    racks: list[DnsLabel] | None = Field(
        default=None,
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Rack names; nodes are spread over them round-robin.",
    )
    replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="Replication factor suites use for their keyspaces here; "
        "defaults to min(3, size).",
    )

    @property
    def effective_replication_factor(self) -> int:
        """The replication factor suites should use in this datacenter."""
        return self.replication_factor if self.replication_factor is not None else min(3, self.size)


class SecretKeyRef(CamelModel):
    """A key of a Kubernetes Secret in the TestRun's namespace."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(min_length=1, max_length=253)


class PasswordSource(CamelModel):
    """Where the password of an existing cluster comes from (operator: a Secret; local: env)."""

    model_config = _cel(
        (
            "has(self.secretKeyRef) != has(self.env)",
            "give exactly one of secretKeyRef and env",
        )
    )

    secret_key_ref: SecretKeyRef | None = None
    env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Local mode: the environment variable holding the password.",
    )


class ExistingCluster(CamelModel):
    """Attach to a running cluster instead of provisioning one; it is never torn down."""

    model_config = _cel(
        (
            "!(has(self.password) && has(self.passwordFrom))",
            "give at most one of password and passwordFrom",
            ".passwordFrom",
        ),
        (
            "!(has(self.password) || has(self.passwordFrom)) || has(self.username)",
            "a password needs a username",
            ".username",
        ),
        (
            "has(self.contactPoints) != has(self.k8ssandraCluster)",
            "give exactly one of contactPoints and k8ssandraCluster",
            ".contactPoints",
        ),
    )

    contact_points: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="Hosts or addresses of Cassandra nodes.",
    )
    k8ssandra_cluster: DnsLabel | None = Field(
        default=None,
        alias="k8ssandraCluster",  # to_camel would say k8SsandraCluster
        description="Operator mode: a K8ssandraCluster in the TestRun's namespace; its "
        "localDatacenter service and superuser Secret are used.",
    )
    port: int = Field(default=9042, ge=1, le=65535)
    local_datacenter: str = Field(min_length=1, max_length=63)
    username: str | None = Field(default=None, min_length=1)
    password: str | None = Field(default=None, min_length=1)
    password_from: PasswordSource | None = None
    ca_path: str | None = Field(
        default=None, min_length=1, description="CA certificate (PEM) for client TLS."
    )


class ClusterSpec(CamelModel):
    """The Cassandra cluster the suites run against: provisioned per run, or an existing one."""

    model_config = _cel(
        (
            "has(self.existing) || (has(self.datacenters) && size(self.datacenters) > 0)",
            "give datacenters to provision a cluster, or existing to attach to one",
            ".datacenters",
        ),
        (
            "!has(self.existing) || "
            "!(has(self.serverVersion) || has(self.resources) || has(self.security))",
            "serverVersion, resources and security only apply to a provisioned cluster, "
            "not to existing",
            ".existing",
        ),
        (
            "!has(self.existing) || !has(self.reuse) || !self.reuse",
            "reuse only applies to a provisioned cluster; an existing cluster is never pooled",
            ".reuse",
        ),
        (
            "(has(self.reuse) && self.reuse) || !(has(self.pool) || has(self.poolPolicy))",
            "pool and poolPolicy only apply with reuse: true",
            ".pool",
        ),
    )

    server_version: str | None = Field(
        default=None,
        pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$",
        description="Cassandra version; defaults to the newest version cqltest pins.",
    )
    datacenters: list[Datacenter] = Field(
        default_factory=list,
        max_length=MAX_DATACENTERS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    resources: Resources | None = None
    security: Security = Field(default_factory=Security)
    existing: ExistingCluster | None = None
    ready_timeout: Duration = Field(
        default="30m",  # text, so the CRD default reads 30m
        validate_default=True,
        description="How long provisioning may take before the run fails.",
    )
    teardown: Teardown = Field(
        default="Always",
        description="When to delete the provisioned cluster at the end: Always, OnSuccess "
        "(keep it for debugging when the run fails) or Never. Ignored for existing clusters.",
    )
    reuse: bool = Field(
        default=False,
        description="Claim a warm cluster of the same shape from a pool (or provision one into "
        "it) and return it to the pool, reset, at the end instead of tearing it down. In "
        "operator mode the pool lives in the TestRun's namespace.",
    )
    pool: DnsLabel | None = Field(
        default=None, description="The pool to claim from with reuse; defaults to 'default'."
    )
    pool_policy: PoolPolicy | None = None

    @property
    def pool_name(self) -> str:
        """The pool a reused cluster comes from."""
        return self.pool or DEFAULT_POOL


class Thresholds(CamelModel):
    """Limits on a suite's measured metrics; a breach fails the suite."""

    p50_latency_ms: float | None = Field(default=None, ge=0)
    p95_latency_ms: float | None = Field(default=None, ge=0)
    p99_latency_ms: float | None = Field(default=None, ge=0)
    max_latency_ms: float | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0, le=1, description="Errors / operations.")
    min_ops_per_second: float | None = Field(default=None, ge=0)
    max_lost_writes: int | None = Field(
        default=None, ge=0, description="resilience: acknowledged writes allowed to be lost."
    )
    max_error_window_seconds: float | None = Field(
        default=None, ge=0, description="resilience: longest time requests may keep failing."
    )


class SuiteSpec(CamelModel):
    """One suite of tests to run: built-in, a local directory, or your own image/command."""

    model_config = _cel(
        (
            "!has(self.dependsOn) || !(self.name in self.dependsOn)",
            "a suite cannot depend on itself",
            ".dependsOn",
        ),
        (
            "!(has(self.path) && (has(self.suite) || has(self.image) || has(self.command)))",
            "path cannot be combined with suite, image or command",
            ".path",
        ),
        (
            "!(has(self.suite) && has(self.command))",
            "give suite (a built-in suite) or command (your own), not both",
            ".command",
        ),
    )

    name: DnsLabel = Field(description="Unique name of this entry; also names its Jobs.")
    suite: DnsLabel | None = Field(
        default=None, description="Built-in suite to run; defaults to name."
    )
    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Local mode: a directory of pytest files, relative to the manifest.",
    )
    image: str | None = Field(default=None, min_length=1, max_length=512)
    command: list[str] | None = Field(default=None, min_length=1, max_length=64)
    depends_on: list[DnsLabel] = Field(
        default_factory=list,
        max_length=MAX_DEPENDENCIES,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    markers: str | None = Field(
        default=None, min_length=1, max_length=1024, description="pytest -m expression."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Free-form parameters passed to the suite."
    )
    timeout: Duration = Field(
        default="30m",
        validate_default=True,
        # No default in the CRD: the apiserver would fill it in, and a built-in suite's own
        # default (its suite.yaml, applied by validation) could never apply in operator mode.
        json_schema_extra=_no_schema_default,
        description="Per-attempt time limit; default: a built-in suite's own timeout "
        "(cqltest suites), 30m for other suites.",
    )
    retries: int = Field(default=0, ge=0, le=10, description="Extra attempts after a failure.")
    thresholds: Thresholds | None = None

    @property
    def builtin_suite(self) -> str | None:
        """The built-in suite this entry runs, or None for path/command suites."""
        if self.path is not None or self.command is not None:
            return None
        return self.suite or self.name


class TestRunSpec(CamelModel):
    """What a TestRun asks for."""

    __test__ = False  # not a pytest test class despite the name
    model_config = _cel(
        (
            "self.suites.all(s, !has(s.dependsOn) || "
            "s.dependsOn.all(d, self.suites.exists(t, t.name == d)))",
            "every dependsOn entry must name a suite of this TestRun",
            ".suites",
        )
    )

    cluster: ClusterSpec
    image: str | None = Field(
        default=None, min_length=1, max_length=512, description="Default test image."
    )
    parallelism: int = Field(default=1, ge=1, le=MAX_SUITES, description="Max concurrent suites.")
    fail_fast: bool = Field(
        default=False, description="After a suite fails, start no new suites; skip the rest."
    )
    timeout: Duration | None = Field(
        default=None,
        description="Time limit for running the suites, counted from the moment the cluster "
        "is ready (provisioning has its own readyTimeout).",
    )
    suites: list[SuiteSpec] = Field(
        max_length=MAX_SUITES,
        json_schema_extra={
            "minItems": 1,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    faults: list[FaultSpec] = Field(
        default_factory=list,
        max_length=MAX_FAULTS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
        description="Faults injected during the run (node kills, partitions, restarts).",
    )
    allow_faults_on_existing: bool = Field(
        default=False,
        description="Allow faults on an existing cluster (they really break it for everyone).",
    )
