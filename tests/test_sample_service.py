"""The sample Phoenix service answers its probes and metrics, and its image build is hardened."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.orchestrator.app import serve

SERVICE_DIR = Path(__file__).resolve().parent.parent / "services" / "orchestrator"


@pytest.fixture
def urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(app URL, metrics URL) of a running service."""
    (tmp_path / "masterKey").write_text("never-shown-value")
    monkeypatch.setenv("PHOENIX_SECRETS_DIR", str(tmp_path))
    servers = serve("127.0.0.1", 0, 0)
    thread = threading.Thread(target=servers.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{servers.app.server_address[1]}", f"http://127.0.0.1:{servers.metrics.server_address[1]}"
    servers.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def base_url(urls: tuple[str, str]) -> str:
    return urls[0]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_readiness_and_metrics(urls: tuple[str, str]) -> None:
    base_url, metrics_url = urls
    assert get(f"{base_url}/healthz") == (200, "ok\n")
    assert get(f"{base_url}/readyz") == (200, "ready\n")
    assert get(f"{base_url}/nope")[0] == 404
    status, metrics = get(f"{metrics_url}/metrics")
    assert status == 200
    assert 'phoenix_http_requests_total{path="/healthz",status="200"} 1' in metrics
    assert 'phoenix_http_requests_total{path="other",status="404"} 1' in metrics
    assert re.search(r"^phoenix_uptime_seconds \d+\.\d+$", metrics, re.MULTILINE)


def test_metrics_only_on_the_metrics_port_and_nothing_else_there(urls: tuple[str, str]) -> None:
    base_url, metrics_url = urls
    # The app port is what callers and the ingress reach: no metrics there.
    assert get(f"{base_url}/metrics")[0] == 404
    for path in ("/healthz", "/readyz", "/"):
        assert get(f"{metrics_url}{path}")[0] == 404
    status, metrics = get(f"{metrics_url}/metrics")
    assert status == 200
    assert 'phoenix_http_requests_total{path="other",status="404"} 1' in metrics, "the probe of /metrics on the app port"
    assert "# TYPE phoenix_uptime_seconds gauge" in metrics


def test_metrics_port_is_the_one_the_platform_scrapes() -> None:
    from components.spec import ServiceSpec

    dockerfile = (SERVICE_DIR / "Dockerfile").read_text()
    default = ServiceSpec.model_fields["metrics_port"].default
    assert f"PHOENIX_METRICS_PORT={default}" in dockerfile
    assert re.search(rf"^EXPOSE .*\b{default}\b", dockerfile, re.MULTILINE)


def test_root_lists_secret_names_never_values(base_url: str) -> None:
    status, body = get(f"{base_url}/")
    assert status == 200
    assert json.loads(body) == {"service": "orchestrator", "secrets": ["masterKey"]}
    assert "never-shown-value" not in body


def test_dockerfile_is_multi_stage_pinned_non_root_and_secret_free() -> None:
    dockerfile = (SERVICE_DIR / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(stages) == 2, "a build stage and a runtime stage"
    for image in stages:
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{image} is not pinned by digest"
    assert "distroless" in stages[-1]
    runtime = dockerfile.split("FROM ")[-1]
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert not re.search(r"^(ARG|ENV)\s+\S*(SECRET|TOKEN|PASSWORD|KEY)", dockerfile, re.MULTILINE | re.IGNORECASE)
    assert "RUN apt-get" not in runtime and "pip install" not in runtime
    assert (SERVICE_DIR / ".dockerignore").read_text().split() == ["*", "!app.py"]
