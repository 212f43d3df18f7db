"""The node agent's entry point (arguments as the plan fixes them, see ``--help``).

SIGTERM or SIGINT stops every pod's processes (with a short grace) and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from cqltest.errors import CqltestError
from cqltest.localkube.agent.agent import Agent
from cqltest.localkube.agent.api import Api
from cqltest.localkube.errors import LocalkubeError
from cqltest.localkube.isolation import namespace_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cqltest.localkube.agent", description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--kubelet-port", required=True, type=int)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        namespace_command()  # fail now, not at the first pod, when pods cannot be isolated
        api = Api(args.kubeconfig)
        agent = Agent(api, args.node, args.state_dir.resolve(), args.kubelet_port)
    except (CqltestError, OSError) as exc:
        print(f"node agent: {exc}", file=sys.stderr)
        return 1

    def on_signal(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        agent.run()
    except LocalkubeError as exc:  # the Node could not be registered
        print(f"node agent: {exc}", file=sys.stderr)
        return 1
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
