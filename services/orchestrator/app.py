"""Phoenix orchestrator: a small HTTP service with health and readiness endpoints, and Prometheus
metrics on a port of their own.

The metrics port (PHOENIX_METRICS_PORT, 9090) serves only /metrics, and the app port
(PHOENIX_PORT, 8080) never does: the app port is what callers and the ingress reach,
the metrics port only the Prometheus scraper (the network policy opens it to nothing else).

Standard library only, so its image needs no package installs. Secrets are
read from files under PHOENIX_SECRETS_DIR (mounted read-only) and never logged.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOG = logging.getLogger("phoenix.orchestrator")


class Metrics:
    """Counters exposed in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = {}
        self.started = time.time()

    def observe(self, path: str, status: int) -> None:
        with self._lock:
            key = (path, status)
            self._requests[key] = self._requests.get(key, 0) + 1

    def render(self) -> str:
        lines = [
            "# HELP phoenix_http_requests_total HTTP requests served, by path and status.",
            "# TYPE phoenix_http_requests_total counter",
        ]
        with self._lock:
            for (path, status), count in sorted(self._requests.items()):
                lines.append(f'phoenix_http_requests_total{{path="{path}",status="{status}"}} {count}')
        lines += [
            "# HELP phoenix_uptime_seconds Seconds since the process started.",
            "# TYPE phoenix_uptime_seconds gauge",
            f"phoenix_uptime_seconds {time.time() - self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"


def loaded_secret_names(directory: str | None) -> list[str]:
    """Names (never values) of the secrets mounted for this service."""
    if not directory or not Path(directory).is_dir():
        return []
    return sorted(p.name for p in Path(directory).iterdir() if p.is_file() and not p.name.startswith(".."))


class _Handler(BaseHTTPRequestHandler):
    server_version = "phoenix-orchestrator"
    sys_version = ""
    _status = 0

    def _send(self, status: HTTPStatus, content_type: str, body: str) -> None:
        self._status = int(status)
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)


def make_handler(metrics: Metrics, state: dict[str, bool]) -> type[BaseHTTPRequestHandler]:
    """The app port: health, readiness and the service itself; never /metrics."""
    known_paths = {"/", "/healthz", "/readyz"}

    class Handler(_Handler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(HTTPStatus.OK, "text/plain", "ok\n")
            elif path == "/readyz":
                ready = state["ready"]
                self._send(
                    HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", "ready\n" if ready else "starting\n"
                )
            elif path == "/":
                body = {"service": "orchestrator", "secrets": loaded_secret_names(os.environ.get("PHOENIX_SECRETS_DIR"))}
                self._send(HTTPStatus.OK, "application/json", json.dumps(body) + "\n")
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found\n")
            metrics.observe(path if path in known_paths else "other", self._status)

    return Handler


def make_metrics_handler(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    """The metrics port: /metrics in the Prometheus text format, and nothing else."""

    class MetricsHandler(_Handler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == "/metrics":
                self._send(HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.render())
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found\n")

    return MetricsHandler


@dataclass
class Servers:
    """The app server and the metrics server of one process, sharing one set of metrics."""

    app: ThreadingHTTPServer
    metrics: ThreadingHTTPServer

    def serve_forever(self) -> None:
        thread = threading.Thread(target=self.metrics.serve_forever, name="metrics", daemon=True)
        thread.start()
        try:
            self.app.serve_forever()
        finally:
            self.metrics.shutdown()
            thread.join(timeout=5)

    def shutdown(self) -> None:
        self.app.shutdown()


def serve(host: str, port: int, metrics_port: int) -> Servers:
    state = {"ready": False}
    metrics = Metrics()
    app = ThreadingHTTPServer((host, port), make_handler(metrics, state))
    metrics_server = ThreadingHTTPServer((host, metrics_port), make_metrics_handler(metrics))
    state["ready"] = True
    return Servers(app=app, metrics=metrics_server)


def main() -> None:
    logging.basicConfig(level=os.environ.get("PHOENIX_LOG_LEVEL", "info").upper(), format="%(asctime)s %(levelname)s %(message)s")
    servers = serve(
        os.environ.get("PHOENIX_BIND", "0.0.0.0"),
        int(os.environ.get("PHOENIX_PORT", "8080")),
        int(os.environ.get("PHOENIX_METRICS_PORT", "9090")),
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=servers.shutdown).start())
    LOG.info("listening on %s:%d, metrics on port %d", *servers.app.server_address[:2], servers.metrics.server_address[1])
    servers.serve_forever()


if __name__ == "__main__":
    main()
