"""Phoenix orchestrator: a small HTTP service with health, readiness and Prometheus metrics endpoints.

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


def make_handler(metrics: Metrics, state: dict[str, bool]) -> type[BaseHTTPRequestHandler]:
    known_paths = {"/", "/healthz", "/readyz", "/metrics"}

    class Handler(BaseHTTPRequestHandler):
        server_version = "phoenix-orchestrator"
        sys_version = ""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(HTTPStatus.OK, "text/plain", "ok\n")
            elif path == "/readyz":
                ready = state["ready"]
                self._send(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", "ready\n" if ready else "starting\n")
            elif path == "/metrics":
                self._send(HTTPStatus.OK, "text/plain; version=0.0.4", metrics.render())
            elif path == "/":
                body = {"service": "orchestrator", "secrets": loaded_secret_names(os.environ.get("PHOENIX_SECRETS_DIR"))}
                self._send(HTTPStatus.OK, "application/json", json.dumps(body) + "\n")
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found\n")
            metrics.observe(path if path in known_paths else "other", self._status)

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

    return Handler


def serve(host: str, port: int) -> ThreadingHTTPServer:
    state = {"ready": False}
    server = ThreadingHTTPServer((host, port), make_handler(Metrics(), state))
    state["ready"] = True
    return server


def main() -> None:
    logging.basicConfig(level=os.environ.get("PHOENIX_LOG_LEVEL", "info").upper(), format="%(asctime)s %(levelname)s %(message)s")
    server = serve(os.environ.get("PHOENIX_BIND", "0.0.0.0"), int(os.environ.get("PHOENIX_PORT", "8080")))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    LOG.info("listening on %s:%d", *server.server_address[:2])
    server.serve_forever()


if __name__ == "__main__":
    main()
