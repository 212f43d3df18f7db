"""Host IDs for ``nodeStatuses``: each node's ``system.local.host_id``, read over CQL.

cass-operator reports every node's host ID; clients use it to tell a replaced node from a
restarted one. The stand-in asks the node itself, once it answers, with the cluster's own
credentials and client TLS. Best effort: a status without a host ID is still right.
"""

from __future__ import annotations

import logging

from cqltest.local import LocalCluster, probe

log = logging.getLogger(__name__)


def read(cluster: LocalCluster, index: int) -> str | None:
    """The host ID of the cluster's node number ``index``; None if it cannot be read now."""
    info = cluster.info()
    credentials = None
    if info.username and info.password:
        credentials = probe.Credentials(info.username, info.password)
    address = cluster.state.nodes[index].plan.address
    try:
        with probe.quiet_driver():
            driver, session = probe.connect_one(
                address,
                info.port,
                credentials,
                info.ca_path,
                check_hostname=cluster.state.spec.client_stores is None,
            )
            try:
                row = session.execute("SELECT host_id FROM system.local").one()
            finally:
                driver.shutdown()
    except Exception as exc:
        log.warning("host ID of %s: %s", address, exc)
        return None
    return str(row.host_id)
