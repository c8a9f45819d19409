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
def base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "masterKey").write_text("never-shown-value")
    monkeypatch.setenv("PHOENIX_SECRETS_DIR", str(tmp_path))
    server = serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_readiness_and_metrics(base_url: str) -> None:
    assert get(f"{base_url}/healthz") == (200, "ok\n")
    assert get(f"{base_url}/readyz") == (200, "ready\n")
    assert get(f"{base_url}/nope")[0] == 404
    status, metrics = get(f"{base_url}/metrics")
    assert status == 200
    assert 'phoenix_http_requests_total{path="/healthz",status="200"} 1' in metrics
    assert 'phoenix_http_requests_total{path="other",status="404"} 1' in metrics
    assert re.search(r"^phoenix_uptime_seconds \d+\.\d+$", metrics, re.MULTILINE)


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
