"""The suite's control plane is the product's (:mod:`cqltest.localkube.controlplane`).

This module only keeps the names tests import as ``from controlplane import ...``.
"""

from cqltest.localkube.binaries import INSTALL_HINT, find_binaries
from cqltest.localkube.controlplane import ControlPlane
from cqltest.localkube.errors import ComponentError as ControlPlaneError

__all__ = ["INSTALL_HINT", "ControlPlane", "ControlPlaneError", "find_binaries"]
