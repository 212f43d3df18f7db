"""The one error hierarchy of ``cqltest.localkube``.

Every component of a localkube (etcd, the apiserver, the controllers, the node agent, the
K8ssandra stand-in) is a separate process; when one fails the user needs to know which one and
why, so :class:`ComponentError` always names the component and carries the tail of its log.
Bad input (a malformed name, ``up`` of a name already running) is
:class:`cqltest.errors.InputError` (exit 2), and missing binaries are
:class:`cqltest.errors.SetupError` (exit 2), so the CLI maps every error in one place.
"""

from __future__ import annotations

from cqltest.errors import CqltestError


class LocalkubeError(CqltestError):
    """Base of every error a localkube raises deliberately (exit 1)."""


class ComponentError(LocalkubeError):
    """A component failed to start, stopped answering or exited.

    ``component`` names it (``etcd``, ``kube-apiserver``, ``node-agent``...) and ``log_tail``
    holds the last lines of its log, which are also part of the message.
    """

    def __init__(self, component: str, what: str, log_tail: str = "") -> None:
        self.component = component
        self.log_tail = log_tail
        message = f"{component} {what}"
        if log_tail:
            message += f"; last lines of its log:\n{log_tail}"
        super().__init__(message)


class NotReadyError(LocalkubeError):
    """The processes run but the cluster did not reach a usable state in time (no schedulable
    Node, a CRD never Established); the message says which condition was missing."""
