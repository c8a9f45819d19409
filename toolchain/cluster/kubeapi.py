"""A minimal Kubernetes API client on the Python standard library.

Enough for the local cluster's own tooling (clusterctl.py, volume_provisioner.py)
and its tests: JSON requests over TLS with a client certificate or a bearer
token, read from the JSON kubeconfigs that clusterctl.py writes. No third-party
packages, so it runs under any python3 before a virtualenv exists.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A non-2xx answer from the API server, with its Status object."""

    def __init__(self, status: int, body: str) -> None:
        self.status = status
        self.body = body
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        parsed = parsed if isinstance(parsed, dict) else {}
        self.reason: str = parsed.get("reason", "")
        self.message: str = parsed.get("message", body)
        self.details: JSON = parsed.get("details") or {}
        super().__init__(f"HTTP {status}: {self.message}")


def _pem(entry: JSON, key: str, base_dir: Path) -> tuple[str | None, bytes | None]:
    """Returns (file path, inline data) for a kubeconfig `key` / `key-data` pair."""
    if entry.get(f"{key}-data"):
        return None, base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        return str(base_dir / entry[key]), None
    return None, None


class Kube:
    """Talks to one API server: `kube.get("/api/v1/nodes")`, `kube.create(path, obj)`..."""

    def __init__(self, server: str, ca_pem: str, context: ssl.SSLContext, token: str | None = None, timeout: float = 30) -> None:
        self.server = server.rstrip("/")
        self.ca_pem = ca_pem
        self.context = context
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str], timeout: float = 30) -> Kube:
        """Reads the current context of a JSON kubeconfig (the ones clusterctl.py writes)."""
        path = Path(path)
        config = json.loads(path.read_text())
        current = config.get("current-context") or config["contexts"][0]["name"]
        context = next(c["context"] for c in config["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])

        ca_file, ca_data = _pem(cluster, "certificate-authority", path.parent)
        ca_pem = ca_data.decode() if ca_data is not None else Path(str(ca_file)).read_text()
        ctx = ssl.create_default_context(cadata=ca_pem)
        cert_file, cert_data = _pem(user, "client-certificate", path.parent)
        key_file, key_data = _pem(user, "client-key", path.parent)
        if cert_data is not None or key_data is not None:
            # ssl only loads a key pair from files: write them to a private
            # directory just long enough to load them.
            with tempfile.TemporaryDirectory(prefix="kubeapi-") as tmp:
                if cert_data is not None:
                    cert_file = os.path.join(tmp, "client.crt")
                    Path(cert_file).write_bytes(cert_data)
                if key_data is not None:
                    key_file = os.path.join(tmp, "client.key")
                    Path(key_file).write_bytes(key_data)
                ctx.load_cert_chain(str(cert_file), key_file)
        elif cert_file:
            ctx.load_cert_chain(cert_file, key_file)
        return cls(cluster["server"], ca_pem, ctx, token=user.get("token"), timeout=timeout)

    def with_token(self, token: str) -> Kube:
        """The same server and CA, authenticated by a bearer token only (no client cert)."""
        ctx = ssl.create_default_context(cadata=self.ca_pem)
        return Kube(self.server, self.ca_pem, ctx, token=token, timeout=self.timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """Sends one request; returns the decoded JSON answer (or text), raises ApiError."""
        url = self.server + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=timeout or self.timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, err.read().decode(errors="replace")) from None
        try:
            return json.loads(text)
        except ValueError:
            return text

    def get(self, path: str, **params: str) -> Any:
        return self.request("GET", path, params=params or None)

    def get_or_none(self, path: str) -> Any:
        """GET that answers None for 404."""
        try:
            return self.get(path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def create(self, path: str, obj: JSON) -> Any:
        return self.request("POST", path, obj)

    def apply_create(self, path: str, obj: JSON) -> Any:
        """Creates obj under the collection `path`; an existing one is left as it is."""
        try:
            return self.create(path, obj)
        except ApiError as err:
            if err.status == 409:
                return self.get(f"{path}/{obj['metadata']['name']}")
            raise

    def patch(self, path: str, patch: JSON, *, kind: str = "merge") -> Any:
        return self.request("PATCH", path, patch, content_type=f"application/{kind}-patch+json")

    def delete(self, path: str, *, missing_ok: bool = True) -> Any:
        try:
            return self.request("DELETE", path)
        except ApiError as err:
            if missing_ok and err.status == 404:
                return None
            raise
