"""The one error hierarchy of ``cqltest.kube``: what went wrong talking to Kubernetes or Helm."""

from __future__ import annotations

from cqltest.errors import CqltestError


class KubeError(CqltestError):
    """The apiserver refused or failed a request the operator needed; the message says which."""


class HelmError(KubeError):
    """``helm`` failed to install or uninstall a run's cluster release; carries helm's stderr."""


class Conflict(KubeError):
    """A write with a resourceVersion precondition lost: the object changed since it was read."""
