"""The TestRun resource as a whole: apiVersion, kind, metadata, spec and status."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cqltest.model.spec import TestRunSpec
from cqltest.model.status import TestRunStatus
from cqltest.model.types import CamelModel

GROUP = "cqltest.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TestRun"
PLURAL = "testruns"
SHORT_NAME = "tr"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class ObjectMeta(BaseModel):
    """The metadata cqltest reads; the apiserver's own fields are kept but not interpreted."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=DNS_SUBDOMAIN_PATTERN, max_length=253)
    namespace: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class TestRun(CamelModel):
    """A TestRun manifest or object."""

    __test__ = False

    api_version: Literal["cqltest.dev/v1alpha1"]
    kind: Literal["TestRun"]
    metadata: ObjectMeta
    spec: TestRunSpec
    status: TestRunStatus | None = None

    @property
    def name(self) -> str:
        """The run's name, which prefixes every child it creates."""
        return self.metadata.name
