"""The node's kubelet endpoint, reduced to what ``kubectl logs`` needs: container logs.

The apiserver proxies ``pods/log`` to ``https://<InternalIP>:<kubeletEndpoint.Port>/containerLogs/
{namespace}/{pod}/{container}`` and does not verify the kubelet's certificate unless it was
given ``--kubelet-certificate-authority``, so a self-signed certificate (made with
``cqltest.local.certs``) is enough. Supported query parameters: ``follow`` (stream until the
container stops), ``tailLines``, ``limitBytes``, ``previous`` (the log of the container's
previous run). The logs are raw process output, without the runtime's per-line timestamps:
``timestamps`` is ignored, and ``sinceSeconds``/``sinceTime`` are judged by the whole file (a log
last written before that moment shows nothing, any other shows whole).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from cqltest.local import certs

log = logging.getLogger(__name__)

FOLLOW_POLL = 0.1

#: locate(namespace, pod, container) -> (log file, previous log file, is the container running?)
Locate = Callable[[str, str, str], tuple[Path, Path, Callable[[], bool]] | None]


def select(data: bytes, tail_lines: int | None, limit_bytes: int | None) -> bytes:
    """The part of a log ``kubectl logs --tail/--limit-bytes`` asks for."""
    if tail_lines is not None:
        data = b"".join(data.splitlines(keepends=True)[-tail_lines:]) if tail_lines > 0 else b""
    if limit_bytes is not None:
        data = data[:limit_bytes]
    return data


def _int(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    return int(values[0]) if values and values[0].lstrip("-").isdigit() else None


def _older_than_asked(path: Path, query: dict[str, list[str]]) -> bool:
    """Best effort for ``sinceSeconds``/``sinceTime`` without per-line times: is the whole log
    older than the moment asked for?"""
    since: float | None = None
    seconds = _int(query, "sinceSeconds")
    if seconds is not None:
        since = time.time() - seconds
    elif query.get("sinceTime"):
        with contextlib.suppress(ValueError):
            stamp = query["sinceTime"][0].replace("Z", "+00:00")
            since = datetime.datetime.fromisoformat(stamp).timestamp()
    try:
        return since is not None and path.stat().st_mtime < since
    except OSError:
        return False


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or ["false"])[0].lower() in ("true", "1")


class _Handler(BaseHTTPRequestHandler):
    server: LogServer
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes (follow)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("log server: " + format, *args)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if url.path == "/healthz":
            self._reply(200, b"ok")
            return
        if len(parts) != 4 or parts[0] != "containerLogs":
            self._reply(404, b"not found")
            return
        _, namespace, pod, container = parts
        found = self.server.locate(namespace, pod, container)
        if found is None:
            self._reply(404, f"container {container!r} of pod {namespace}/{pod} not found".encode())
            return
        current, previous, running = found
        query = parse_qs(url.query)
        path = previous if _flag(query, "previous") else current
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self._reply(400, f"previous terminated container {container!r} not found".encode())
            return
        if _older_than_asked(path, query):
            data = b""
        limit = _int(query, "limitBytes")
        body = select(data, _int(query, "tailLines"), limit)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)
        if not _flag(query, "follow") or path == previous:
            return
        self._follow(path, len(data), running, None if limit is None else limit - len(body))

    def _follow(
        self, path: Path, offset: int, running: Callable[[], bool], budget: int | None
    ) -> None:
        with path.open("rb") as handle:
            handle.seek(offset)
            while budget is None or budget > 0:
                alive = running()
                chunk = handle.read(65536 if budget is None else min(budget, 65536))
                if chunk:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if budget is not None:
                        budget -= len(chunk)
                    continue
                if not alive:
                    return
                time.sleep(FOLLOW_POLL)

    def _reply(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LogServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, locate: Locate, pki_dir: Path) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.locate = locate
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = _self_signed(pki_dir)
        context.load_cert_chain(str(cert), str(key))
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="log server", daemon=True).start()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that goes away mid-follow is normal (kubectl logs -f, then Ctrl-C).
        log.debug("log server: request from %s ended with an error", client_address)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert_path, key_path = directory / "kubelet.crt", directory / "kubelet.key"
    if not cert_path.exists():
        ca = certs.new_ca(certs.subject("localkube-node-agent-ca"))
        cert, key = certs.issue(
            ca,
            certs.subject("localkube-node-agent"),
            sans=[x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")],
            usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        )
        certs.write_private(key_path, certs.private_pem(key))
        cert_path.write_bytes(certs.certificate_pem(cert) + certs.certificate_pem(ca[0]))
    return cert_path, key_path
