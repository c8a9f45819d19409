"""A generated corpus of Kubernetes manifests of mixed kinds, plus the PSA corpus from ../shared.

Deterministic (seeded): the same size always writes the same files, so runs compare. Every
manifest is a valid Kubernetes object; about a third carry a security problem of some kind (a
privileged container, a missing probe, a plaintext secret, a wildcard role, ...), as real
scanned input does.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import ROOT

PSA_CORPUS = ROOT.parent / "shared" / "corpus" / "pod-security-admission"
DIGEST = "sha256:" + "0123456789abcdef" * 4
Manifest = dict[str, Any]


def _container(rng: random.Random, name: str, insecure: bool) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": f"ghcr.io/phoenix-orch/{name}@{DIGEST}",
        "ports": [{"name": "http", "containerPort": 8080}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 15},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 15},
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if insecure:
        problem = rng.randrange(6)
        if problem == 0:
            container["securityContext"] = {"privileged": True}
        elif problem == 1:
            container["image"] = "docker.io/library/nginx:latest"
        elif problem == 2:
            del container["livenessProbe"], container["readinessProbe"]
        elif problem == 3:
            container["securityContext"]["capabilities"] = {"add": ["NET_ADMIN", "SYS_TIME"]}
        elif problem == 4:
            container["env"].append({"name": "DB_PASSWORD", "value": "hunter2"})
        else:
            del container["resources"]
    return container


def _pod_spec(rng: random.Random, name: str, insecure: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "serviceAccountName": name,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [_container(rng, name, insecure)],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if rng.random() < 0.3:
        spec["initContainers"] = [_container(rng, f"{name}-init", False)]
    if insecure and rng.random() < 0.3:
        spec["hostNetwork"] = True
        spec["volumes"].append({"name": "host", "hostPath": {"path": "/var/run"}})
    return spec


def _meta(name: str, namespace: str | None = "apps") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": name}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _workload(kind: str) -> Callable[[random.Random, str, bool], Manifest]:
    def build(rng: random.Random, name: str, insecure: bool) -> Manifest:
        template = {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": _pod_spec(rng, name, insecure)}
        selector = {"matchLabels": {"app.kubernetes.io/name": name}}
        if kind == "Pod":
            return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name), "spec": template["spec"]}
        if kind == "Job":
            template["spec"]["restartPolicy"] = "Never"
            return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name), "spec": {"template": template}}
        if kind == "CronJob":
            template["spec"]["restartPolicy"] = "OnFailure"
            return {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": _meta(name),
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}},
            }
        spec: dict[str, Any] = {"selector": selector, "template": template}
        if kind in ("Deployment", "StatefulSet"):
            spec["replicas"] = rng.choice([1, 2, 3])
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(name), "spec": spec}

    return build


def _service(rng: random.Random, name: str, insecure: bool) -> Manifest:
    spec: dict[str, Any] = {
        "type": "LoadBalancer" if insecure else "ClusterIP",
        "selector": {"app.kubernetes.io/name": name},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name), "spec": spec}


def _ingress(rng: random.Random, name: str, insecure: bool) -> Manifest:
    spec: dict[str, Any] = {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": f"{name}.example.com",
                "http": {
                    "paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"name": "http"}}}}
                    ]
                },
            }
        ],
    }
    if not insecure:
        spec["tls"] = [{"hosts": [f"{name}.example.com"], "secretName": f"{name}-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta(name), "spec": spec}


def _config_map(rng: random.Random, name: str, insecure: bool) -> Manifest:
    data = {"LOG_LEVEL": "info", "FEATURE_FLAGS": "a,b,c"}
    if insecure:
        data["API_TOKEN"] = "s3cr3t-token-value"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name), "data": data}


def _secret(rng: random.Random, name: str, insecure: bool) -> Manifest:
    manifest: Manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name), "type": "Opaque"}
    if insecure:
        manifest["stringData"] = {"password": "hunter2"}
    return manifest


def _role(rng: random.Random, name: str, insecure: bool) -> Manifest:
    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
    if insecure:
        rule = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(name), "rules": [rule]}


def _role_binding(rng: random.Random, name: str, insecure: bool) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "default" if insecure else name, "namespace": "apps"}],
    }


def _cluster_role(rng: random.Random, name: str, insecure: bool) -> Manifest:
    rule = {"apiGroups": [""], "resources": ["secrets" if insecure else "nodes"], "verbs": ["get", "list"]}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(name, None),
        "rules": [rule],
    }


def _network_policy(rng: random.Random, name: str, insecure: bool) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}], "ports": [{"port": 8080}]}],
        },
    }


def _claim(rng: random.Random, name: str, insecure: bool) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(name),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "standard" if insecure else "encrypted",
            "resources": {"requests": {"storage": "10Gi"}},
        },
    }


def _storage_class(rng: random.Random, name: str, insecure: bool) -> Manifest:
    parameters = {"type": "gp3"} if insecure else {"type": "gp3", "encrypted": "true"}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _meta(name, None),
        "provisioner": "ebs.csi.aws.com",
        "parameters": parameters,
    }


def _autoscaler(rng: random.Random, name: str, insecure: bool) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1 if insecure else 2,
            "maxReplicas": 6,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def _disruption_budget(rng: random.Random, name: str, insecure: bool) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name),
        "spec": {"maxUnavailable": 0 if insecure else 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
    }


def _namespace(rng: random.Random, name: str, insecure: bool) -> Manifest:
    level = "privileged" if insecure else "restricted"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}},
    }


def _service_account(rng: random.Random, name: str, insecure: bool) -> Manifest:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name), "automountServiceAccountToken": insecure}


# Weighted like a typical application's rendered chart: mostly workloads and their companions.
KINDS: list[tuple[Callable[[random.Random, str, bool], Manifest], int]] = [
    (_workload("Deployment"), 20),
    (_workload("StatefulSet"), 5),
    (_workload("DaemonSet"), 3),
    (_workload("Job"), 3),
    (_workload("CronJob"), 3),
    (_workload("Pod"), 3),
    (_service, 12),
    (_ingress, 4),
    (_config_map, 10),
    (_secret, 5),
    (_service_account, 8),
    (_role, 4),
    (_role_binding, 4),
    (_cluster_role, 2),
    (_network_policy, 5),
    (_claim, 3),
    (_storage_class, 1),
    (_autoscaler, 3),
    (_disruption_budget, 2),
    (_namespace, 1),
]


def generated_manifests(count: int, seed: int = 20261203) -> list[Manifest]:
    rng = random.Random(seed)
    builders = [builder for builder, _ in KINDS]
    weights = [weight for _, weight in KINDS]
    return [
        builder(rng, f"app-{index:04d}", rng.random() < 0.35)
        for index, builder in enumerate(rng.choices(builders, weights, k=count))
    ]


def psa_files() -> list[Path]:
    return sorted(PSA_CORPUS.rglob("*.yaml")) if PSA_CORPUS.is_dir() else []


def write_corpus(directory: Path, generated: int) -> int:
    """Writes `generated` manifests (one per file) and a copy of the PSA corpus into `directory`;
    returns how many documents it holds."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "generated").mkdir(parents=True)
    for index, manifest in enumerate(generated_manifests(generated)):
        (directory / "generated" / f"{index:04d}-{manifest['kind'].lower()}.yaml").write_text(
            yaml.safe_dump(manifest, sort_keys=False)
        )
    psa = psa_files()
    for path in psa:
        target = directory / "psa" / path.relative_to(PSA_CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return generated + len(psa)
