"""Is aiocql ahead of the other Python clients for Cassandra? All of them, one node, one run.

Clients: aiocql (this checkout), the raw cassandra-driver (callback chain; its own paging for
the stream), async-cassandra, cassandra-asyncio-driver and acsylla (a C++ driver core: the
ceiling, not a gate). Each round starts every client in its own process (see peer_client.py),
in an order rotated by one each round, and each process runs a prepared single-row INSERT
phase, a single-row SELECT phase and one stream over a 200 000-row table. The node and the
clients share the machine's cores, as a test pod and its cluster do.

The peers are never project dependencies: they are installed from PyPI, pinned, into a venv of
their own under ``${XDG_CACHE_HOME:-~/.cache}/cqltest/peers-venv-<key>`` (the key hashes the
interpreter and the pins), built once and reused. async-cassandra declares Python >= 3.12; its
wheel is installed with ``--ignore-requires-python`` and the report says so. A client whose
package does not install (acsylla ships binary wheels only) is reported as unavailable, and the
others still run.

Prints JSON: per client and phase ops/s (pooled and per round, with spread = (max - min) /
median), client CPU µs/op, p50/p99, rows/s and peak RSS growth while streaming, and every
figure's ratio to aiocql's (client ÷ aiocql) in the same run.

Streaming memory is given in pages (``page_mib``: one page's rows as the driver hands them over)
two ways, for every client: the peak RSS growth during the timed stream, and the peak of Python
objects alive at once during a second, traced stream (tracemalloc). RSS also counts what the
allocator keeps: pymalloc returns an arena to the OS only when all of it is free, so RSS growth
depends on what the process did before the stream, and a client can be charged for memory it no
longer holds. The traced peak counts only what the client keeps alive: a stream that fetches
one page ahead holds up to two pages (the consumer's and the next), plus, for a moment, what
decoding a page takes; the raw driver's paging keeps its exhausted page while it fetches the
next one. Both figures are given for every client in the same run, the raw driver's included.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tracemalloc
from collections import namedtuple
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cassandra
import psutil
from aiocql_bench import KEYSPACE, VALUE, connect_raw, local_cluster
from aiocql_bench import percentile as exact_percentile
from cassandra.cluster import NoHostAvailable
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType
from peer_client import CLIENTS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PINS = (
    f"cassandra-driver=={cassandra.__version__}",  # the very driver aiocql runs on here
    f"psutil=={psutil.__version__}",
    "cassandra-asyncio-driver==1.0.1",
    "hdrhistogram==0.10.8",  # histogram_cost.py weighs aiocql's histogram against it
)
IGNORE_REQUIRES_PYTHON = ("async-cassandra==0.0.1",)
OPTIONAL = {"acsylla": "acsylla==1.2.0"}
PHASES = ("insert", "select")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cqltest"


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def peers_venv(progress: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    """The peers' interpreter, building its venv on first use, and what went into it."""
    recipe = [platform.python_version(), sys.base_prefix, *PINS, *IGNORE_REQUIRES_PYTHON]
    recipe += sorted(OPTIONAL.values())
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:12]
    venv = cache_dir() / f"peers-venv-{key}"
    python = venv / "bin" / "python"
    manifest = venv / "peers.json"
    if not manifest.exists():
        progress(f"building the peers' venv {venv} ...")
        building = venv.with_name(venv.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
        built = building / "bin" / "python"
        for args in (PINS, ("--no-deps", "--ignore-requires-python", *IGNORE_REQUIRES_PYTHON)):
            done = _pip(built, *args)
            if done.returncode != 0:
                raise SystemExit(f"pip install {' '.join(args)} failed:\n{done.stderr}")
        unavailable: dict[str, str] = {}
        for client, pin in OPTIONAL.items():
            done = _pip(built, "--only-binary=:all:", pin)
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or ["(pip said nothing)"]
                unavailable[client] = f"pip install {pin} failed: {lines[-1]}"
        info = {
            "pins": [*PINS, *IGNORE_REQUIRES_PYTHON, *OPTIONAL.values()],
            "installed_with_ignore_requires_python": list(IGNORE_REQUIRES_PYTHON),
            "unavailable": unavailable,
        }
        (building / "peers.json").write_text(json.dumps(info))
        shutil.rmtree(venv, ignore_errors=True)
        building.rename(venv)
    return python, json.loads(manifest.read_text())


def _write_all(session: Any, statements: list[tuple[Any, Any]]) -> None:
    # a node sharing two busy cores times writes out now and then: a loader retries them
    for _ in range(5):
        results = execute_concurrent(
            session, statements, concurrency=16, raise_on_first_error=False
        )
        failed = [(s, r) for s, (ok, r) in zip(statements, results, strict=True) if not ok]
        if not failed:
            return
        statements = [s for s, _ in failed]
    raise SystemExit(f"loading failed {len(failed)} times in a row, last: {failed[-1][1]!r}")


def load_tables(host: str, port: int, rows: int, progress: Callable[[str], None]) -> int:
    """The kv table for the request phases and ``rows`` rows (1000 per partition) to stream."""
    for attempt in range(3):
        try:
            cluster, raw = connect_raw(host, port, "dc1", 120)
            break
        except NoHostAvailable as exc:  # a starved node can miss the driver's connect timeout
            if attempt == 2:
                raise SystemExit(f"cannot connect to {host}:{port}: {exc}") from exc
    raw.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.kv (k int PRIMARY KEY, v text)")
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.wide (p int, c int, v text, PRIMARY KEY (p, c))"
    )
    partitions = -(-rows // 1000)
    if raw.execute(f"SELECT count(*) FROM {KEYSPACE}.wide", timeout=120).one()[0] != rows:
        progress(f"loading {rows} rows to stream ...")
        raw.execute(f"TRUNCATE {KEYSPACE}.wide", timeout=120)
        insert = raw.prepare(f"INSERT INTO {KEYSPACE}.wide (p, c, v) VALUES (?, ?, ?)")
        keys = [(p, c) for p in range(partitions) for c in range(1000)][:rows]
        for start in range(0, len(keys), 100_000):
            batches = []
            for first in range(start, min(start + 100_000, len(keys)), 100):
                batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                for p, c in keys[first : first + 100]:
                    batch.add(insert, (p, c, VALUE))
                batches.append((batch, None))
            _write_all(raw, batches)
    cluster.shutdown()
    return rows


def run_client(python: Path, client: str, host: str, port: int, args: argparse.Namespace) -> Any:
    command = [
        str(python),
        "-P",
        str(HERE / "peer_client.py"),
        f"--client={client}",
        f"--host={host}",
    ]
    command += [f"--port={port}", f"--ops={args.ops}", f"--concurrency={args.concurrency}"]
    command += [f"--page-size={args.page_size}"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "testsuites" / "src")}
    failures: list[str] = []
    # a node starved of CPU by whatever else shares the machine can miss a connect timeout:
    # two more tries, and the report says so
    for _ in range(3):
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=args.client_timeout
        )
        if done.returncode == 0:
            result = json.loads(done.stdout)
            result["failed_tries"] = failures
            return result
        failures.append(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "")
        print(f"{client} failed (exit {done.returncode}): {failures[-1]}", file=sys.stderr)
    raise SystemExit(f"{client} failed three times:\n{done.stderr[-4000:]}")


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return done.stdout


def checkout() -> dict[str, Any]:
    """The commit, and aiocql's files not committed: every client process imports aiocql from
    the work tree as it is when that process starts."""
    status = _git("status", "--porcelain", "--", "testsuites/src/aiocql").splitlines()
    return {
        "commit": _git("rev-parse", "--short", "HEAD").strip(),
        "aiocql_uncommitted": [line[3:] for line in status],
    }


def spread(values: list[float]) -> float:
    """(max - min) / median of the per-round values: how far one round can be from another."""
    return (max(values) - min(values)) / statistics.median(values) if values else float("nan")


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One client's rounds pooled: ops over wall time summed, latencies merged."""
    out: dict[str, Any] = {"version": runs[0]["version"]}
    for phase in PHASES:
        samples = [run[phase] for run in runs]
        rounds = [s["ops"] / s["wall"] for s in samples]
        latencies = [x for s in samples for x in s["latencies"]]
        ops = sum(s["ops"] for s in samples)
        out[phase] = {
            "ops_per_s": ops / sum(s["wall"] for s in samples),
            "ops_per_s_rounds": [round(x, 1) for x in rounds],
            "spread": spread(rounds),
            "cpu_us_per_op": sum(s["cpu"] for s in samples) / ops * 1e6,
            "p50_ms": exact_percentile(latencies, 50) * 1e3,
            "p99_ms": exact_percentile(latencies, 99) * 1e3,
            "errors": sum(s["errors"] for s in samples),
        }
    streams = [run["stream"] for run in runs]
    rows_per_s = [s["rows"] / s["wall"] for s in streams]
    out["stream"] = {
        "rows_per_s": statistics.median(rows_per_s),
        "rows_per_s_rounds": [round(x) for x in rows_per_s],
        "spread": spread(rows_per_s),
        "cpu_us_per_row": sum(s["cpu"] for s in streams) / sum(s["rows"] for s in streams) * 1e6,
        "peak_rss_growth_mib": max(s["rss_growth_mib"] for s in streams),
        "peak_rss_growth_mib_rounds": [round(s["rss_growth_mib"], 1) for s in streams],
        "traced_peak_mib": max(s["traced_peak_mib"] for s in streams),
        "traced_peak_mib_rounds": [round(s["traced_peak_mib"], 2) for s in streams],
    }
    out["rss_mib_at_end"] = max(run["rss_mib"] for run in runs)
    out["failed_tries"] = [f for run in runs for f in run["failed_tries"]]
    return out


def _rate(sample: dict[str, Any]) -> float:
    return float(sample["ops"] / sample["wall"])


def ratios(report: dict[str, Any], runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each client's figures divided by aiocql's, pooled and per round (same round, same node)."""
    base = report["aiocql"]
    out: dict[str, Any] = {}
    for client, values in report.items():
        if client == "aiocql":
            continue
        entry: dict[str, Any] = {}
        for phase in PHASES:
            per_round = [
                _rate(mine[phase]) / _rate(ours[phase])
                for mine, ours in zip(runs[client], runs["aiocql"], strict=True)
            ]
            entry[phase] = {
                "ops_per_s": values[phase]["ops_per_s"] / base[phase]["ops_per_s"],
                "ops_per_s_rounds": [round(x, 3) for x in per_round],
                "cpu_us_per_op": values[phase]["cpu_us_per_op"] / base[phase]["cpu_us_per_op"],
                "p99_ms": values[phase]["p99_ms"] / base[phase]["p99_ms"],
            }
        entry["stream"] = {
            key: values["stream"][key] / base["stream"][key]
            for key in ("rows_per_s", "cpu_us_per_row", "peak_rss_growth_mib", "traced_peak_mib")
        }
        out[client] = entry
    return out


def page_mib(page_size: int) -> float:
    """Python memory of one page of the stream as the driver hands it over (a list of
    namedtuples of int, int and a 32-character str, each object its own, as decoded), by
    tracemalloc: the unit of issue #11's "RSS growth <= 2 pages"."""
    row = namedtuple("row", "p c v")  # the shape of the driver's default row factory
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    page = [
        row(int.from_bytes(i.to_bytes(4, "big"), "big"), i + 1000, (b"x" * 32).decode())
        for i in range(page_size)
    ]
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del page
    return size / 2**20


def headline(relative: dict[str, Any]) -> dict[str, Any]:
    """Issue #11's bar: aiocql ahead of both cassandra-driver wrappers on every path, and
    streaming at least as fast as the raw driver's own paging."""
    out: dict[str, Any] = {}
    for peer in ("async-cassandra", "cassandra-asyncio-driver"):
        if peer in relative:
            out[f"aiocql_ahead_of_{peer}"] = {
                phase: relative[peer][phase]["ops_per_s"] < 1 for phase in PHASES
            } | {"stream": relative[peer]["stream"]["rows_per_s"] < 1}
    if "raw" in relative:
        out["aiocql_stream_rows_per_s_vs_raw"] = 1 / relative["raw"]["stream"]["rows_per_s"]
        out["aiocql_stream_rss_growth_vs_raw"] = (
            1 / relative["raw"]["stream"]["peak_rss_growth_mib"]
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contact-point", help="use this node instead of starting one")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=10_000, help="ops per client/phase/round")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--stream-rows", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--client-timeout", type=float, default=600.0)
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    args = parser.parse_args(argv)
    for name in ("rounds", "ops", "concurrency", "stream_rows", "page_size", "client_timeout"):
        if getattr(args, name) < (3 if name == "rounds" else 1):
            flag = f"--{name.replace('_', '-')}={getattr(args, name)}"
            parser.error(f"{flag}: must be >= {3 if name == 'rounds' else 1}")
    chosen = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = sorted(set(chosen) - set(CLIENTS))
    if unknown or "aiocql" not in chosen:
        parser.error(f"--clients={args.clients}: one or more of {', '.join(CLIENTS)}, aiocql too")

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    checkout_before = checkout()
    python, venv = peers_venv(progress)
    clients = [c for c in chosen if c not in venv["unavailable"]]

    def run(host: str, port: int) -> dict[str, Any]:
        load_tables(host, port, args.stream_rows, progress)
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
        for r in range(args.rounds):
            order = clients[r % len(clients) :] + clients[: r % len(clients)]
            for client in order:
                result = run_client(python, client, host, port, args)
                if result["stream"]["rows"] != args.stream_rows:
                    raise SystemExit(f"{client} streamed {result['stream']['rows']} rows")
                runs[client].append(result)
                progress(
                    f"round {r + 1}/{args.rounds} {client:>24}: "
                    + " ".join(f"{p} {result[p]['ops'] / result[p]['wall']:7.0f}/s" for p in PHASES)
                    + f" stream {result['stream']['rows'] / result['stream']['wall']:8.0f} rows/s"
                    f" +{result['stream']['rss_growth_mib']:.1f} MiB"
                )
        report = {client: summarize(results) for client, results in runs.items()}
        relative = ratios(report, runs)
        page = page_mib(args.page_size)
        top = headline(relative)
        top["page_mib"] = page
        top["stream_memory_in_pages"] = {
            client: {
                "rss_growth": values["stream"]["peak_rss_growth_mib"] / page,
                "python_objects_peak": values["stream"]["traced_peak_mib"] / page,
            }
            for client, values in report.items()
        }
        return {"headline": top, "clients": report, "ratio_to_aiocql": relative}

    if args.contact_point:
        figures = run(args.contact_point, args.port)
    else:
        with local_cluster(progress, False) as (host, port, _dc, _split):
            figures = run(host, port)
    checkout_after = checkout()
    print(
        json.dumps(
            {
                "environment": {
                    "checkout_before": checkout_before,
                    "checkout_after": checkout_after,
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "cores": "node and clients share them (not pinned)",
                    "load_average_1m_before_after": [load_before[0], os.getloadavg()[0]],
                    "peers_venv": str(python.parent.parent),
                    **venv,
                },
                "notes": [
                    f"{pin} declares Requires-Python >= 3.12: installed with "
                    f"--ignore-requires-python, running on Python {platform.python_version()}"
                    for pin in venv["installed_with_ignore_requires_python"]
                ]
                + [f"{c}: not run: {why}" for c, why in venv["unavailable"].items()]
                + [
                    "acsylla runs through a small adapter coroutine (bind, execute, selected and "
                    "streamed rows decoded with as_tuple(), as the driver's row factory decodes "
                    "them for the other clients)",
                    "stream memory: rss_growth = peak RSS over RSS before the stream (what the "
                    "process took from the OS, allocator arenas and fragmentation included); "
                    "python_objects_peak = peak of Python objects alive at once during a second "
                    "stream over those alive before it (tracemalloc; acsylla's C++ buffers are "
                    "not Python objects and are not counted)",
                ],
                "rounds": args.rounds,
                "ops_per_client_phase_round": args.ops,
                "concurrency": args.concurrency,
                "stream_rows": args.stream_rows,
                "page_size": args.page_size,
                **figures,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
