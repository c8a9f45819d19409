"""The local Kubernetes cluster: a real control plane on loopback, kwok for nodes.

Run it through toolchain/cluster/cluster.sh (which sets the toolchain paths);
see there for usage. Standard library only.

What runs, all bound to 127.0.0.1, each its own process, log and pid file in
the cluster directory ($PHOENIX_CLUSTER_DIR, default $PHOENIX_STATE_DIR/cluster):

  etcd                     plain http on loopback (so tests can read raw keys)
  kube-apiserver           Node,RBAC authorization; Pod Security admission (on by
                           default, nothing disables it); Secrets encrypted at rest
                           with a secretbox key made for this cluster (0600)
  kube-controller-manager  signs service account tokens; all default controllers
  kube-scheduler
  kwok                     plays the kubelets of the fake nodes this script creates
  volume-provisioner       volume_provisioner.py, plays the cloud's CSI driver
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubeapi import ApiError, Kube

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

SERVICE_CIDR = "10.96.0.0/12"  # `kubernetes.default` gets 10.96.0.1
POD_CIDR = "10.244.0.0/16"  # kwok hands out pod IPs from here; nothing is ever sent to them
ISSUER = "https://kubernetes.default.svc.cluster.local"
NODE_ANNOTATION = "kwok.x-k8s.io/node"
ZONES = ("zone-a", "zone-b", "zone-c")
DEFAULT_PORTS = {"api": 16443, "etcd": 16379}
START_TIMEOUT = float(os.environ.get("PHOENIX_CLUSTER_START_TIMEOUT", "120"))


def say(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


class ClusterError(Exception):
    pass


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    dir: Path
    bin: Path

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def run(self) -> Path:
        return self.dir / "run"

    @property
    def info_file(self) -> Path:
        return self.dir / "cluster.json"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def encryption_config(self) -> Path:
        return self.dir / "encryption-config.yaml"

    @property
    def kwok_stages(self) -> Path:
        # Written by toolchain/install.sh from kwok's own default stages.
        return self.bin.parent / "share" / "kwok-stages.yaml"

    def component_kubeconfig(self, name: str) -> Path:
        return self.dir / "kubeconfigs" / f"{name}.kubeconfig"


def layout_from_env() -> Layout:
    state = os.environ.get("PHOENIX_STATE_DIR") or str(ROOT / ".pulumi-state")
    cluster_dir = Path(os.environ.get("PHOENIX_CLUSTER_DIR") or os.path.join(state, "cluster")).resolve()
    bin_dir = os.environ.get("PHOENIX_CLUSTER_BIN")
    if not bin_dir:
        raise ClusterError("PHOENIX_CLUSTER_BIN is not set: run this through toolchain/cluster/cluster.sh")
    return Layout(cluster_dir, Path(bin_dir))


BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def missing_binaries(layout: Layout) -> list[str]:
    missing = [str(layout.bin / b) for b in BINARIES if not os.access(layout.bin / b, os.X_OK)]
    if not layout.kwok_stages.is_file():
        missing.append(str(layout.kwok_stages))
    return missing


# --------------------------------------------------------------------------- configuration


@dataclass
class Info:
    """What a cluster directory holds, saved as cluster.json on first start."""

    api_port: int
    etcd_port: int
    nodes: int

    @property
    def etcd_peer_port(self) -> int:
        return self.etcd_port + 1

    @property
    def controller_manager_port(self) -> int:
        return self.etcd_port + 2

    @property
    def scheduler_port(self) -> int:
        return self.etcd_port + 3

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def etcd_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    def as_json(self, layout: Layout) -> dict[str, Any]:
        return {
            "server": self.server,
            "etcd_endpoint": self.etcd_endpoint,
            "kubeconfig": str(layout.kubeconfig),
            "api_port": self.api_port,
            "etcd_port": self.etcd_port,
            "nodes": self.nodes,
            "service_cidr": SERVICE_CIDR,
        }


def load_info(layout: Layout) -> Info | None:
    if not layout.info_file.is_file():
        return None
    data = json.loads(layout.info_file.read_text())
    return Info(api_port=int(data["api_port"]), etcd_port=int(data["etcd_port"]), nodes=int(data["nodes"]))


def create_info(layout: Layout) -> Info:
    info = Info(
        api_port=int(os.environ.get("PHOENIX_CLUSTER_API_PORT") or DEFAULT_PORTS["api"]),
        etcd_port=int(os.environ.get("PHOENIX_CLUSTER_ETCD_PORT") or DEFAULT_PORTS["etcd"]),
        nodes=max(1, min(len(ZONES), int(os.environ.get("PHOENIX_CLUSTER_NODES") or 3))),
    )
    write_private(layout.info_file, json.dumps(info.as_json(layout), indent=2) + "\n")
    return info


def write_private(path: Path, text: str) -> None:
    """Writes a 0600 file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed:\n{result.stderr}")


def make_pki(layout: Layout) -> None:
    """A CA, the API server's serving certificate, one client certificate per
    component, and the service account signing key; all EC P-256, made once."""
    pki = layout.pki
    if (pki / "ca.crt").is_file() and (pki / "sa.pub").is_file():
        return
    say(f"creating the cluster's PKI in {pki}")
    pki.mkdir(parents=True, exist_ok=True, mode=0o700)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        "req", "-x509", *ec, "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"), "-days", "3650",
        "-subj", "/CN=phoenix-local-cluster-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
    )  # fmt: skip
    names = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
    sans = "IP:127.0.0.1,IP:10.96.0.1," + ",".join(f"DNS:{name}" for name in names)
    leaves = {
        # name: (subject, extended key usage, extra extensions)
        "apiserver": ("/CN=kube-apiserver", "serverAuth", f"subjectAltName={sans}"),
        "admin": ("/O=system:masters/CN=phoenix-local-admin", "clientAuth", ""),
        "kube-controller-manager": ("/CN=system:kube-controller-manager", "clientAuth", ""),
        "kube-scheduler": ("/CN=system:kube-scheduler", "clientAuth", ""),
        # The stand-ins act for many nodes and for the cloud: cluster-wide rights.
        "kwok": ("/O=system:masters/CN=kwok-controller", "clientAuth", ""),
        "volume-provisioner": ("/O=system:masters/CN=phoenix-volume-provisioner", "clientAuth", ""),
    }
    for name, (subject, usage, extra) in leaves.items():
        ext = pki / f"{name}.ext"
        ext.write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage={usage}\n{extra}\n"
        )
        openssl("req", "-new", *ec, "-keyout", str(pki / f"{name}.key"), "-out", str(pki / f"{name}.csr"), "-subj", subject)
        openssl(
            "x509", "-req", "-in", str(pki / f"{name}.csr"), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
            "-set_serial", "0x" + secrets.token_hex(16), "-days", "3650", "-extfile", str(ext),
            "-out", str(pki / f"{name}.crt"),
        )  # fmt: skip
        (pki / f"{name}.csr").unlink()
        ext.unlink()
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(pki / "sa.key"))
    openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
    for path in pki.iterdir():
        path.chmod(0o600)


def kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str, embed: bool) -> str:
    """A kubeconfig as JSON (which is YAML), so Python reads it without a YAML parser."""
    if embed:
        cluster = {"server": server, "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode()}
        creds = {
            "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
            "client-key-data": base64.b64encode(key.read_bytes()).decode(),
        }
    else:
        cluster = {"server": server, "certificate-authority": str(ca)}
        creds = {"client-certificate": str(cert), "client-key": str(key)}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "phoenix-local", "cluster": cluster}],
        "users": [{"name": user, "user": creds}],
        "contexts": [{"name": "phoenix-local", "context": {"cluster": "phoenix-local", "user": user}}],
        "current-context": "phoenix-local",
    }
    return json.dumps(config, indent=2) + "\n"


def make_config_files(layout: Layout, info: Info) -> None:
    pki = layout.pki
    if not layout.encryption_config.is_file():
        say("creating the Secrets encryption key (secretbox, 0600)")
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        write_private(
            layout.encryption_config,
            "apiVersion: apiserver.config.k8s.io/v1\n"
            "kind: EncryptionConfiguration\n"
            "resources:\n"
            "  - resources: [secrets]\n"
            "    providers:\n"
            "      - secretbox:\n"
            "          keys:\n"
            f"            - name: key1\n              secret: {key}\n"
            "      - identity: {}\n",
        )
    # Rewritten on every start: cheap, and follows a changed port.
    write_private(
        layout.kubeconfig,
        kubeconfig(info.server, pki / "ca.crt", pki / "admin.crt", pki / "admin.key", "phoenix-local-admin", True),
    )
    for name in ("kube-controller-manager", "kube-scheduler", "kwok", "volume-provisioner"):
        write_private(
            layout.component_kubeconfig(name),
            kubeconfig(info.server, pki / "ca.crt", pki / f"{name}.crt", pki / f"{name}.key", name, False),
        )


# --------------------------------------------------------------------------- processes


@dataclass
class Component:
    name: str
    argv: list[str]
    ports: list[int] = field(default_factory=list)


def components(layout: Layout, info: Info) -> list[Component]:
    pki, run = layout.pki, layout.run
    etcd_url, peer_url = info.etcd_endpoint, f"http://127.0.0.1:{info.etcd_peer_port}"

    provisioners = os.environ.get("PHOENIX_CLUSTER_PROVISIONERS", "")

    def kc(name: str) -> str:
        return str(layout.component_kubeconfig(name))

    def control(name: str, port: int) -> list[str]:
        return [
            f"--kubeconfig={kc(name)}",
            f"--authentication-kubeconfig={kc(name)}",
            f"--authorization-kubeconfig={kc(name)}",
            # Clients of their /healthz and /metrics are checked against our CA; there
            # is no front proxy, so no request-header CA to look up in the cluster.
            "--authentication-skip-lookup=true",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={run / name}",
            # One instance: no lease to wait out when it restarts.
            "--leader-elect=false",
            "--profiling=false",
        ]

    return [
        Component(
            "etcd",
            [
                str(layout.bin / "etcd"),
                "--name=phoenix-local",
                f"--data-dir={layout.dir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=phoenix-local={peer_url}",
                "--initial-cluster-state=new",
                "--log-level=warn",
            ],
            [info.etcd_port, info.etcd_peer_port],
        ),
        Component(
            "kube-apiserver",
            [
                str(layout.bin / "kube-apiserver"),
                "--advertise-address=127.0.0.1",
                # The `kubernetes` Service (10.96.0.1) exists, but a loopback address
                # cannot be its endpoint, and nothing in this cluster dials it.
                "--endpoint-reconciler-type=none",
                "--bind-address=127.0.0.1",
                f"--secure-port={info.api_port}",
                f"--etcd-servers={etcd_url}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                # So privileged pods reach admission, where Pod Security judges them.
                "--allow-privileged=true",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--service-account-issuer={ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--encryption-provider-config={layout.encryption_config}",
                # kwok nodes report 127.0.0.1: anything the API server sends a "kubelet" stays on loopback.
                "--kubelet-preferred-address-types=InternalIP",
                f"--cert-dir={run / 'kube-apiserver'}",
                "--profiling=false",
            ],
            [info.api_port],
        ),
        Component(
            "kube-controller-manager",
            [
                str(layout.bin / "kube-controller-manager"),
                *control("kube-controller-manager", info.controller_manager_port),
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=true",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
            ],
            [info.controller_manager_port],
        ),
        Component(
            "kube-scheduler",
            [str(layout.bin / "kube-scheduler"), *control("kube-scheduler", info.scheduler_port)],
            [info.scheduler_port],
        ),
        Component(
            "kwok",
            [
                str(layout.bin / "kwok"),
                f"--kubeconfig={kc('kwok')}",
                f"--config={layout.kwok_stages}",
                f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                "--node-lease-duration-seconds=40",
            ],
        ),
        Component(
            "volume-provisioner",
            [
                sys.executable,
                str(HERE / "volume_provisioner.py"),
                f"--kubeconfig={kc('volume-provisioner')}",
                *([f"--provisioners={provisioners}"] if provisioners else []),
            ],
        ),
    ]


def _proc_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time), or None for a gone or zombie process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


class Processes:
    """Pid files under run/, each recording the pid and its start time, so only
    the very processes started here are ever signalled."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def pid_file(self, name: str) -> Path:
        return self.layout.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.layout.logs / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The pid of the running component, or None."""
        try:
            record = json.loads(self.pid_file(name).read_text())
        except (OSError, ValueError):
            return None
        pid = int(record["pid"])
        if _proc_start_time(pid) != record["start_time"]:
            return None
        child = self.children.get(name)
        if child is not None and child.poll() is not None:
            return None
        return pid

    def check_ports(self, component: Component) -> None:
        for port in component.ports:
            if not port_free(port):
                raise ClusterError(
                    f"port 127.0.0.1:{port} for {component.name} is taken by another process. Another cluster?"
                    " Stop it, or give this one other ports: PHOENIX_CLUSTER_API_PORT / PHOENIX_CLUSTER_ETCD_PORT"
                    f" (etcd uses PORT..PORT+3) with a fresh PHOENIX_CLUSTER_DIR (now {self.layout.dir})"
                )

    def start(self, component: Component) -> None:
        self.check_ports(component)
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        self.layout.run.mkdir(parents=True, exist_ok=True)
        log = self.log_file(component.name)
        if log.exists():
            log.replace(log.with_suffix(".log.prev"))
        with log.open("wb") as out:
            out.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} {shlex.join(component.argv)}\n".encode())
            out.flush()
            child = subprocess.Popen(
                component.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.layout.dir,
                start_new_session=True,  # its own process group; a ^C at the terminal leaves it be
            )
        self.children[component.name] = child
        start_time = _proc_start_time(child.pid) or ""
        write_private(self.pid_file(component.name), json.dumps({"pid": child.pid, "start_time": start_time}) + "\n")

    def stop(self, name: str, timeout: float = 20) -> bool:
        pid = self.pid(name)
        self.pid_file(name).unlink(missing_ok=True)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = self.children.get(name)
            if child is not None:
                child.poll()
            if _proc_start_time(pid) is None:
                return True
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        return True

    def tail(self, name: str, lines: int = 25) -> str:
        try:
            text = self.log_file(name).read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text[-lines:])


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """One start or stop at a time per cluster directory."""
    layout.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (layout.dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --------------------------------------------------------------------------- health


def _get(url: str, context: ssl.SSLContext | None = None, timeout: float = 2) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (OSError, ValueError) as err:
        return 0, str(err)


def insecure_context() -> ssl.SSLContext:
    """For the controller-manager's and scheduler's /healthz: self-signed, loopback."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def node_manifest(name: str, zone: str) -> dict[str, Any]:
    resources = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": zone,
                "topology.kubernetes.io/region": "local",
                "node.kubernetes.io/instance-type": "kwok",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}],
        },
    }


def node_names(info: Info) -> list[tuple[str, str]]:
    return [(f"kwok-node-{i}", ZONES[i]) for i in range(info.nodes)]


def node_ready(node: dict[str, Any]) -> bool:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions", []))
    blocking = [t for t in node.get("spec", {}).get("taints", []) or [] if t.get("key", "").startswith("node.kubernetes.io/")]
    return ready and not blocking


def lease_fresh(lease: dict[str, Any] | None) -> bool:
    if not lease or not lease.get("renewTime"):
        return False
    renewed = datetime.fromisoformat(lease["renewTime"].replace("Z", "+00:00"))
    age = (datetime.now(UTC) - renewed).total_seconds()
    return age < int(lease.get("leaseDurationSeconds") or 40)


def manifest_files() -> list[Path]:
    """Manifests every start applies: $PHOENIX_CLUSTER_MANIFESTS (colon-separated), or by
    default the monitoring stand-in CRDs, schemaless copies of the Prometheus Operator's
    kinds so the program's PodMonitors and rules apply here (README "Monitoring and alerts")."""
    configured = os.environ.get("PHOENIX_CLUSTER_MANIFESTS")
    if configured is not None:
        return [Path(p) for p in configured.split(":") if p]
    default = ROOT / "toolchain" / "cluster" / "prometheus-operator-stand-in-crds.yaml"
    return [default] if default.is_file() else []


def _top_level(doc: str, key: str, indent: str = "") -> str | None:
    match = re.search(rf"^{indent}{key}:[ \t]*['\"]?([^'\"\s#]+)", doc, re.MULTILINE)
    return match.group(1) if match else None


def apply_manifests(kube: Kube, path: Path) -> list[tuple[str, str]]:
    """Creates or (server-side) applies each document of a YAML file; the API server
    parses the YAML, so only apiVersion, kind and namespace are read here.
    Returns (kind, name) of each object."""
    applied = []
    for doc in re.split(r"^---[ \t]*$", path.read_text(), flags=re.MULTILINE):
        api_version, kind = _top_level(doc, "apiVersion"), _top_level(doc, "kind")
        if not api_version or not kind:
            continue  # only comments
        group_path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        resource = next((r for r in kube.get(group_path)["resources"] if r["kind"] == kind and "/" not in r["name"]), None)
        if resource is None:
            raise ClusterError(f"{path}: the API server serves no {kind} in {api_version}")
        collection = group_path
        if resource["namespaced"]:
            collection += f"/namespaces/{_top_level(doc, 'namespace', '  ') or 'default'}"
        collection += f"/{resource['name']}"
        try:
            created = kube.request("POST", collection, doc.encode(), content_type="application/yaml")
            name = created["metadata"]["name"]
        except ApiError as err:
            if err.status != 409 or not err.details.get("name"):
                raise ClusterError(f"{path}: cannot create the {kind}: {err}") from None
            name = err.details["name"]
            params = {"fieldManager": "phoenix-local-cluster", "force": "true"}
            kube.request(
                "PATCH", f"{collection}/{name}", doc.encode(), params=params, content_type="application/apply-patch+yaml"
            )
        applied.append((kind, name))
    return applied


class Starter:
    def __init__(self, layout: Layout, info: Info) -> None:
        self.layout = layout
        self.info = info
        self.procs = Processes(layout)
        self.comps = {c.name: c for c in components(layout, info)}
        self.started: list[str] = []
        self.t0 = time.monotonic()

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.t0:.1f}s"

    def ensure(self, name: str) -> None:
        if self.procs.pid(name) is not None:
            return
        say(f"starting {name} (log: {self.procs.log_file(name)})")
        self.procs.start(self.comps[name])
        self.started.append(name)

    def check_alive(self) -> None:
        for name in self.comps:
            if name in self.procs.children and self.procs.pid(name) is None:
                code = self.procs.children[name].poll()
                raise ClusterError(
                    f"{name} exited (code {code}) while the cluster was starting. "
                    f"Last lines of {self.procs.log_file(name)}:\n{self.procs.tail(name)}"
                )

    def wait(self, what: str, ready: Callable[[], bool], hint: str) -> None:
        deadline = self.t0 + START_TIMEOUT
        while True:
            self.check_alive()
            if ready():
                say(f"{what}: ok ({self.elapsed()})")
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"timed out after {START_TIMEOUT:.0f}s waiting for {what}. "
                    f"Last lines of {self.procs.log_file(hint)}:\n{self.procs.tail(hint)}"
                )
            time.sleep(0.25)

    def run(self) -> None:
        kube = Kube.from_kubeconfig(self.layout.kubeconfig, timeout=5)
        insecure = insecure_context()
        for name, component in self.comps.items():  # fail before starting anything
            if self.procs.pid(name) is None:
                self.procs.check_ports(component)

        self.ensure("etcd")
        self.wait("etcd healthy", lambda: '"true"' in _get(f"{self.info.etcd_endpoint}/health")[1], "etcd")
        self.ensure("kube-apiserver")
        self.wait("API server ready", lambda: _get(f"{self.info.server}/readyz", kube.context)[0] == 200, "kube-apiserver")
        for name in ("kube-controller-manager", "kube-scheduler", "kwok", "volume-provisioner"):
            self.ensure(name)
        for name, zone in node_names(self.info):
            kube.apply_create("/api/v1/nodes", node_manifest(name, zone))

        def healthz(port: int) -> bool:
            return _get(f"https://127.0.0.1:{port}/healthz", insecure)[0] == 200

        self.wait("controller manager healthy", lambda: healthz(self.info.controller_manager_port), "kube-controller-manager")
        self.wait("scheduler healthy", lambda: healthz(self.info.scheduler_port), "kube-scheduler")

        def nodes_ready() -> bool:
            # Ready, untainted, and kwok keeps their leases fresh (so they stay so).
            nodes = kube.get("/api/v1/nodes", labelSelector="type=kwok")["items"]
            leases = {
                lease["metadata"]["name"]: lease["spec"]
                for lease in kube.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")["items"]
            }
            fresh = [n for n in nodes if node_ready(n) and lease_fresh(leases.get(n["metadata"]["name"]))]
            return len(fresh) >= self.info.nodes

        self.wait(f"{self.info.nodes} kwok nodes Ready", nodes_ready, "kwok")

        def default_sa() -> bool:
            return kube.get_or_none("/api/v1/namespaces/default/serviceaccounts/default") is not None

        self.wait("default ServiceAccount", default_sa, "kube-controller-manager")

        for path in manifest_files():
            applied = apply_manifests(kube, path)
            crds = [name for kind, name in applied if kind == "CustomResourceDefinition"]

            def established(crds: list[str] = crds) -> bool:
                for name in crds:
                    crd = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                    conditions = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
                    if conditions.get("Established") != "True":
                        return False
                return True

            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            self.wait(f"applied {shown} ({len(applied)} objects)", established, "kube-apiserver")
        self.check_alive()

    def rollback(self) -> None:
        for name in reversed(self.started):
            self.procs.stop(name)


# --------------------------------------------------------------------------- commands


def cmd_start(layout: Layout) -> int:
    missing = missing_binaries(layout)
    if missing:
        say("the cluster binaries are not installed; run: toolchain/install.sh cluster")
        for path in missing:
            say(f"  missing: {path}")
        return 2
    with locked(layout):
        info = load_info(layout) or create_info(layout)
        make_pki(layout)
        make_config_files(layout, info)
        starter = Starter(layout, info)
        try:
            starter.run()
        except (ClusterError, ApiError, OSError) as err:
            say(f"start failed: {err}")
            if starter.started:
                say(f"stopping what this start launched: {', '.join(starter.started)}")
                starter.rollback()
            return 1
        except KeyboardInterrupt:
            starter.rollback()
            raise
    if starter.started:
        say(f"cluster up in {starter.elapsed()}: {info.server}, {info.nodes} kwok nodes")
    else:
        say(f"already running: {info.server}")
    say(f'use it: eval "$({HERE / "cluster.sh"} env)"   (KUBECONFIG={layout.kubeconfig})')
    return 0


def cmd_stop(layout: Layout, wipe: bool) -> int:
    if not layout.dir.exists():
        say(f"nothing at {layout.dir}")
        return 0
    with locked(layout):
        procs = Processes(layout)
        for component in reversed(COMPONENT_ORDER):
            if procs.stop(component):
                say(f"stopped {component}")
    if wipe:
        if not layout.info_file.exists() and any(p.name != ".lock" for p in layout.dir.iterdir()):
            say(f"not wiping {layout.dir}: it holds no cluster.json, so it is not a cluster directory")
            return 1
        shutil.rmtree(layout.dir)
        say(f"wiped {layout.dir}")
    return 0


COMPONENT_ORDER = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "volume-provisioner"]


def cluster_status(layout: Layout) -> dict[str, Any]:
    info = load_info(layout)
    procs = Processes(layout)
    pids = {name: procs.pid(name) for name in COMPONENT_ORDER}
    status: dict[str, Any] = {
        "dir": str(layout.dir),
        "bin": str(layout.bin),
        "binaries_installed": not missing_binaries(layout),
        "components": pids,
        "running": all(pid is not None for pid in pids.values()),
        "api_ready": False,
    }
    if info is not None:
        status.update(info.as_json(layout))
        if pids["kube-apiserver"] is not None and layout.kubeconfig.is_file():
            kube = Kube.from_kubeconfig(layout.kubeconfig, timeout=3)
            status["api_ready"] = _get(f"{info.server}/readyz", kube.context)[0] == 200
    return status


def cmd_status(layout: Layout, as_json: bool) -> int:
    status = cluster_status(layout)
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        print(f"cluster dir: {status['dir']}")
        for name, pid in status["components"].items():
            print(f"  {name:24} {'running, pid ' + str(pid) if pid else 'stopped'}")
        if "server" in status:
            print(f"API server: {status['server']} ({'ready' if status['api_ready'] else 'not ready'})")
            if status["api_ready"]:
                kube = Kube.from_kubeconfig(layout.kubeconfig, timeout=3)
                for node in kube.get("/api/v1/nodes")["items"]:
                    labels = node["metadata"].get("labels", {})
                    state = "Ready" if node_ready(node) else "NotReady"
                    print(f"  node {node['metadata']['name']:16} {state:9} {labels.get('topology.kubernetes.io/zone', '')}")
    if status["running"] and status["api_ready"]:
        return 0
    return 3 if not any(status["components"].values()) else 1


def cmd_env(layout: Layout, as_json: bool) -> int:
    info = load_info(layout)
    if as_json:
        print(json.dumps(cluster_status(layout), indent=2))
        return 0
    if info is None:
        say(f"no cluster at {layout.dir} yet: run toolchain/cluster/cluster.sh start")
        return 1
    print(f"export KUBECONFIG={shlex.quote(str(layout.kubeconfig))}")
    print(f"export PHOENIX_CLUSTER_DIR={shlex.quote(str(layout.dir))}")
    print(f"export PHOENIX_ETCD_ENDPOINT={shlex.quote(info.etcd_endpoint)}")
    return 0


def cmd_logs(layout: Layout, component: str | None) -> int:
    procs = Processes(layout)
    if component is None:
        for name in COMPONENT_ORDER:
            print(f"{procs.log_file(name)}")
        return 0
    if component not in COMPONENT_ORDER:
        say(f"unknown component {component!r} (one of: {', '.join(COMPONENT_ORDER)})")
        return 2
    print(procs.tail(component, 200))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cluster.sh", description="The local Kubernetes cluster (see cluster.sh).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start (idempotent) and wait until usable")
    stop = sub.add_parser("stop", help="stop what start started")
    stop.add_argument("--wipe", action="store_true", help="also delete the cluster directory (state, keys, data)")
    status = sub.add_parser("status", help="what runs; exit 0 when up, 3 when stopped, 1 in between")
    status.add_argument("--json", action="store_true")
    env = sub.add_parser("env", help="shell exports: KUBECONFIG, PHOENIX_ETCD_ENDPOINT, PHOENIX_CLUSTER_DIR")
    env.add_argument("--json", action="store_true", help="everything about the cluster, as JSON")
    logs = sub.add_parser("logs", help="list log files, or show the tail of one component's")
    logs.add_argument("component", nargs="?")
    args = parser.parse_args(argv)
    os.umask(0o077)  # keys, kubeconfigs, logs and etcd data: the owner's only
    try:
        layout = layout_from_env()
        if args.command == "start":
            return cmd_start(layout)
        if args.command == "stop":
            return cmd_stop(layout, args.wipe)
        if args.command == "status":
            return cmd_status(layout, args.json)
        if args.command == "env":
            return cmd_env(layout, args.json)
        return cmd_logs(layout, args.component)
    except ClusterError as err:
        say(str(err))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
