"""The K8ssandra stand-in's entry point (arguments as the localkube plan fixes them).

Local clusters live under ``<state-dir>/cassandra``. SIGTERM or SIGINT stops watching and exits
0, leaving the clusters to ``localkube down`` (or to this controller when it starts again).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from cqltest.localkube.agent.api import Api
from cqltest.localkube.errors import LocalkubeError
from cqltest.localkube.k8ssandra.controller import Controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cqltest.localkube.k8ssandra", description=__doc__
    )
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--node", required=True, help="the Node the stand-in's Pods are bound to")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Probing starting nodes makes the driver log every refused connection and login; the
    # stand-in reports what matters itself (and quiet_driver's save-and-restore of the level
    # is not safe with several clusters starting in threads at once).
    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    try:
        api = Api(args.kubeconfig)
    except (LocalkubeError, OSError) as exc:
        print(f"k8ssandra stand-in: {exc}", file=sys.stderr)
        return 1
    controller = Controller(api, args.node, args.state_dir.resolve())

    def on_signal(signum: int, frame: FrameType | None) -> None:
        controller.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    controller.run()
    api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
