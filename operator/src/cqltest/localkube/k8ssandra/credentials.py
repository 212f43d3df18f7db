"""Reading the Secrets a K8ssandraCluster references: the superuser's and the encryption stores.

k8ssandra-operator reads them before it creates a datacenter, and requeues while one is
missing; so does the stand-in: :class:`SecretMissing` is reported in ``status.error`` and the
worker tries again on its next pass. Store bytes become PEM files (:mod:`.stores`) in a
directory the local cluster copies from.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cqltest.local import certs
from cqltest.local.topology import KEYSTORE_FILE, TRUSTSTORE_FILE
from cqltest.localkube.agent.api import Api
from cqltest.localkube.errors import LocalkubeError
from cqltest.localkube.k8ssandra.stores import keystore_pem, truststore_pem
from cqltest.localkube.k8ssandra.translate import SecretKey, StoresRef


class SecretMissing(LocalkubeError):
    """A referenced Secret or key does not exist (yet)."""


class SecretReader:
    """The Secrets of one namespace, each fetched once per reader."""

    def __init__(self, api: Api, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self._cache: dict[str, dict[str, str] | None] = {}

    def _data(self, secret: str) -> dict[str, str] | None:
        if secret not in self._cache:
            body = self.api.get_or_none(f"/api/v1/namespaces/{self.namespace}/secrets/{secret}")
            self._cache[secret] = None if body is None else dict(body.get("data") or {})
        return self._cache[secret]

    def value(self, ref: SecretKey) -> bytes | None:
        """The key's bytes; None for an optional key that is absent."""
        data = self._data(ref.secret)
        if data is None:
            if ref.optional:
                return None
            raise SecretMissing(f"secret {self.namespace}/{ref.secret} not found")
        if ref.key not in data:
            if ref.optional:
                return None
            raise SecretMissing(f"secret {self.namespace}/{ref.secret} has no key {ref.key!r}")
        return base64.b64decode(data[ref.key])

    def text(self, ref: SecretKey) -> str | None:
        value = self.value(ref)
        return None if value is None else value.decode().strip()

    def superuser(self, secret: str) -> tuple[str, str]:
        """(username, password) from the superuser Secret (keys ``username``, ``password``)."""
        username = self.text(SecretKey(secret, "username"))
        password = self.text(SecretKey(secret, "password"))
        if not username or not password:
            raise SecretMissing(f"secret {self.namespace}/{secret}: username or password is empty")
        return username, password

    def write_stores(self, ref: StoresRef | None, directory: Path) -> str | None:
        """Write the store set as PEM ``keystore.pem`` + ``truststore.pem`` into ``directory``;
        None (nothing written) when the set is not referenced."""
        if ref is None:
            return None
        keystore = self.value(ref.keystore)
        truststore = self.value(ref.truststore)
        assert keystore is not None
        assert truststore is not None
        where = f"secret {self.namespace}/{{}} key {{!r}}"
        certs.write_private(
            directory / KEYSTORE_FILE,
            keystore_pem(
                keystore,
                self.text(ref.keystore_password),
                where.format(ref.keystore.secret, ref.keystore.key),
            ),
        )
        certs.write_private(
            directory / TRUSTSTORE_FILE,
            truststore_pem(
                truststore,
                self.text(ref.truststore_password),
                where.format(ref.truststore.secret, ref.truststore.key),
            ),
        )
        return str(directory)
