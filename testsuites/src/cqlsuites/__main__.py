"""``python -m cqlsuites run <suite>``: the one entrypoint of a suite subprocess or test pod.

(``probe`` checks a cluster answers CQL, see :mod:`cqlsuites.probe`; ``reset`` cleans a pooled
cluster, see :mod:`cqlsuites.reset`; ``list`` names the suites.)

It runs pytest on a built-in suite (``cqlsuites/suites/<name>``) or on a directory of the
user's own tests with the result plugin, under a pytest configuration of its own so that
whatever ``pytest.ini``/``pyproject.toml`` happens to sit above the tests cannot change how a
suite runs. Exit codes (contracts §5): 0 passed, 1 tests failed, 2 the suite could not run.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from cqlsuites.catalogue import SUITES_DIR, package_name

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2

# One event loop for the whole suite, so session-scoped connections serve every test.
_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
addopts = -p no:cacheprovider
junit_family = xunit2
"""


def builtin_suites() -> list[str]:
    """Names of the suites shipped in this package (``data_types/`` is the suite ``data-types``)."""
    return sorted(
        p.name.replace("_", "-")
        for p in SUITES_DIR.iterdir()
        if p.is_dir() and any(p.glob("test_*.py"))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cqlsuites")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one suite with the result plugin")
    run.add_argument("suite", help="a built-in suite name, or the name to report for --path")
    run.add_argument("--path", type=Path, help="run the pytest files in this directory instead")
    run.add_argument("--markers", help="pytest -m expression selecting tests")
    run.add_argument("--pod", action="store_true", help="report as a Kubernetes pod does")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    sub.add_parser("list", help="list the built-in suites")
    probe = sub.add_parser("probe", help="check the cluster answers CQL (exit 0) or not (1)")
    probe.add_argument("--timeout", type=float, default=60.0, help="seconds to keep trying")
    probe.add_argument(
        "--nodes", type=_addresses, help="check these nodes recovered (answer CQL, heard UP)"
    )
    probe.add_argument(
        "--observers", type=_addresses, default=[], help="nodes that must hear --nodes in gossip"
    )
    reset = sub.add_parser("reset", help="drop what a pooled cluster's baseline does not name")
    reset.add_argument("--timeout", type=float, default=60.0, help="seconds to keep trying")
    reset.add_argument("--drop", action="store_true", help="drop (else only list) the rest")
    reset.add_argument("--keep-keyspace", action="append", default=[], help="a baseline keyspace")
    reset.add_argument("--keep-role", action="append", default=[], help="a baseline role")
    args = parser.parse_args(argv)
    if args.command == "reset":
        from cqlsuites.reset import reset as run_reset

        kept = {"keyspaces": args.keep_keyspace, "roles": args.keep_role}
        return run_reset(kept if args.drop else None, timeout=args.timeout)
    if args.command == "list":
        print("\n".join(builtin_suites()))
        return 0
    if args.command == "probe":
        from cqlsuites.probe import probe as run_probe
        from cqlsuites.probe import recovery

        if args.nodes:
            return recovery(args.nodes, args.observers, timeout=args.timeout)
        return run_probe(timeout=args.timeout)
    return run_suite(
        args.suite, path=args.path, markers=args.markers, pod=args.pod, extra=args.pytest_args
    )


def _addresses(text: str) -> list[str]:
    """A comma-separated address list; an empty entry is a typo, not a node."""
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: an empty address between commas")
    return parts


def run_suite(
    suite: str,
    *,
    path: Path | None = None,
    markers: str | None = None,
    pod: bool = False,
    extra: list[str] | None = None,
) -> int:
    """Run the suite under pytest and map its result to the contract's exit code."""
    directory = path if path is not None else SUITES_DIR / package_name(suite)
    if not directory.is_dir():
        known = ", ".join(builtin_suites()) or "none"
        where = f"--path {path}" if path is not None else f"built-in suite {suite!r}"
        return _fail_early(f"{where} is not a directory (built-in suites: {known})", suite, pod)
    # SIGTERM (timeout, pod deletion) ends the session like Ctrl-C, so a result is still written.
    signal.signal(signal.SIGTERM, _interrupt)

    import pytest  # deferred: `list` and early failures stay fast

    from cqlsuites import plugin

    # Only the plugins a suite needs: auto-loading every installed pytest plugin costs seconds
    # per suite (hypothesis alone imports for ~1 s) and lets unrelated plugins change behaviour.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = ["-p", "pytest_asyncio.plugin"]
    if importlib.util.find_spec("pytest_timeout") is not None:
        plugins += ["-p", "pytest_timeout"]

    with tempfile.TemporaryDirectory(prefix="cqlsuites-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(_INI, encoding="utf-8")
        args = [
            str(directory.resolve()),
            "-c",
            str(ini),
            "--rootdir",
            str(directory.resolve()),
            *plugins,
            "-p",
            "cqlsuites.plugin",
            "--junitxml",
            str(Path(tmp) / "junit.xml"),
            "-q",
            # pytest's own traceback style spends seconds per failure rendering source; a suite
            # whose cluster refuses it fails every test the same way, and took minutes to say so
            "--tb=native",
        ]
        if markers:
            args += ["-m", markers]
        if pod:
            args.append("--cqltest-pod")
        pytest.main([*args, *(extra or [])])
        return exit_code_for(plugin.last_outcome())


def exit_code_for(outcome: str | None) -> int:
    return {"passed": EXIT_PASSED, "failed": EXIT_FAILED}.get(outcome or "", EXIT_ERROR)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _fail_early(message: str, suite: str, pod: bool) -> int:
    """Report a suite that cannot even start, so the launcher reads a reason, not a silence."""
    from cqlsuites import plugin
    from cqlsuites.env import read_report_target

    print(f"cqlsuites: {message}", file=sys.stderr)
    target = read_report_target()
    if target.suite == "suite":
        target = dataclasses.replace(target, suite=suite)
    plugin.report_error(message, target, pod=pod, termination_log=plugin.termination_log_default())
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
