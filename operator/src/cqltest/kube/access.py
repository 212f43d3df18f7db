"""How a TestRun's pods reach its cluster in operator mode: contact points and Secret references.

Kept apart from :mod:`cqltest.kube.world` because it answers one question for three kinds of
cluster (provisioned, attached by K8ssandraCluster name, given by contact points) and the
answer takes a few reads of its own (the attached cluster's superuser Secret) that the engine's
actions do not care about. The suites' Jobs and the CQL probe Jobs both use it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cqltest.engine.names import LABEL_TESTRUN, label_value
from cqltest.kube import objects
from cqltest.kube.client import Kube
from cqltest.model import SecretKeyRef, TestRunSpec
from cqltest.render.cluster import TlsSecrets, datacenter_service, superuser_secret_name
from cqltest.render.environment import Connection
from cqltest.render.pods import NO_SECRETS, Owner, Secrets
from cqltest.render.tls import CA_KEY


@dataclass(frozen=True)
class ClusterAccess:
    """The way into one run's cluster.

    ``cluster`` is the provisioned (or claimed) K8ssandraCluster, ``attached`` the one an
    existing-cluster run names; at most one of them is set, neither for contact points.
    """

    kube: Kube
    owner: Owner
    spec: TestRunSpec
    cluster: str | None
    attached: str | None
    tls: TlsSecrets | None

    def connection(self) -> Connection:
        cluster = self.spec.cluster
        topology = {
            dc.name: {"nodes": dc.size, "replicationFactor": dc.effective_replication_factor}
            for dc in cluster.datacenters
        }
        existing = cluster.existing
        if existing is not None and self.attached is not None:
            return Connection(
                contact_points=(datacenter_service(self.attached, existing.local_datacenter),),
                local_dc=existing.local_datacenter,
                username=self._attached_username(),
                topology=topology,
            )
        if existing is not None:
            return Connection(
                contact_points=tuple(existing.contact_points or ()),
                port=existing.port,
                local_dc=existing.local_datacenter,
                username=existing.username,
                topology=topology,
            )
        assert self.cluster is not None
        first = cluster.datacenters[0].name
        auth = cluster.security.authentication
        return Connection(
            contact_points=(datacenter_service(self.cluster, first),),
            local_dc=first,
            username=superuser_secret_name(self.cluster) if auth else None,
            topology=topology,
        )

    def _attached_secret(self) -> str | None:
        """The superuser Secret of the attached K8ssandraCluster, None when auth is off."""
        assert self.attached is not None
        obj = objects.get_custom(self.kube, *objects.K8SSANDRA, self.owner.namespace, self.attached)
        spec = (obj or {}).get("spec") or {}
        if spec.get("auth") is False:
            return None
        ref = (spec.get("cassandra") or {}).get("superuserSecretRef") or {}
        return str(ref.get("name") or superuser_secret_name(self.attached))

    def _attached_username(self) -> str | None:
        name = self._attached_secret()
        if name is None:
            return None
        secret = objects.get(self.kube, "Secret", self.owner.namespace, name) or {}
        encoded = (secret.get("data") or {}).get("username")
        return base64.b64decode(encoded).decode() if encoded else name

    def secrets(self) -> Secrets:
        cluster = self.spec.cluster
        existing = cluster.existing
        if existing is not None and self.attached is not None:
            secret = self._attached_secret()
            return (
                Secrets(password=SecretKeyRef(name=secret, key="password"))
                if secret
                else NO_SECRETS
            )
        if existing is not None:
            source = existing.password_from
            if source is not None and source.secret_key_ref is not None:
                return Secrets(password=source.secret_key_ref)
            if existing.password is not None:
                return Secrets(password=SecretKeyRef(name=self._existing_secret(), key="password"))
            return NO_SECRETS
        assert self.cluster is not None
        password = (
            SecretKeyRef(name=superuser_secret_name(self.cluster), key="password")
            if cluster.security.authentication
            else None
        )
        ca = (
            SecretKeyRef(name=self.tls.ca, key=CA_KEY)
            if self.tls and cluster.security.tls.client
            else None
        )
        return Secrets(password=password, ca=ca)

    def _existing_secret(self) -> str:
        """An inline password of an existing cluster, moved into a Secret the pods reference."""
        name = f"{self.owner.name}-existing"[:253]
        existing = self.spec.cluster.existing
        assert existing is not None
        assert existing.password is not None
        manifest = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.owner.metadata(name, {LABEL_TESTRUN: label_value(self.owner.name)}),
            "stringData": {"password": existing.password},
        }
        objects.create_or_get(self.kube, manifest)
        return name
