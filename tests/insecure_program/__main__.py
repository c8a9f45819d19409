"""A deliberately insecure program: one resource per mandatory policy of the pack (prod config).

Each resource's logical name is the policy it trips. Run it only with the pack, to see it refused:
    pulumi preview --policy-pack ../../policy --policy-pack-config ../../policy/config/prod.json
tests/policy/test_insecure_program.py runs it under mocks and checks every mandatory policy fires.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

NAMESPACE = "insecure-apps"  # no default-deny NetworkPolicy, ResourceQuota or LimitRange: trips the stack policies
DIGEST = "sha256:" + "0" * 64
IMAGE = f"ghcr.io/phoenix-orch/app@{DIGEST}"


def container(**changes: Any) -> dict[str, Any]:
    """A container that passes every policy; each resource below breaks one thing."""
    spec: dict[str, Any] = {
        "name": "app",
        "image": IMAGE,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    }
    spec.update(changes)
    return spec


def insecure_container(**security: Any) -> dict[str, Any]:
    spec = container()
    spec["securityContext"] = {**spec["securityContext"], **security}
    return spec


def pod_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container()],
    }
    spec.update(changes)
    return spec


def deployment(
    policy: str, spec: dict[str, Any], namespace: str = NAMESPACE, annotations: dict[str, str] | None = None
) -> k8s.apps.v1.Deployment:
    template_metadata: dict[str, Any] = {"labels": {"app": policy}}
    if annotations:
        template_metadata["annotations"] = annotations
    return k8s.apps.v1.Deployment(
        policy,
        metadata={"name": policy, "namespace": namespace},
        spec={
            "selector": {"matchLabels": {"app": policy}},
            "template": {"metadata": template_metadata, "spec": copy.deepcopy(spec)},
        },
    )


# --- Pod Security Standards: one Deployment per control -------------------------------------------
PSS_VIOLATIONS: dict[str, dict[str, Any]] = {
    "pss-baseline-host-namespaces": pod_spec(hostNetwork=True),
    "pss-baseline-privileged": pod_spec(containers=[insecure_container(privileged=True)]),
    "pss-baseline-capabilities": pod_spec(containers=[insecure_container(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]})]),
    "pss-baseline-host-path-volumes": pod_spec(volumes=[{"name": "host", "hostPath": {"path": "/var/run"}}]),
    "pss-baseline-host-ports": pod_spec(containers=[container(ports=[{"containerPort": 8080, "hostPort": 8080}])]),
    "pss-baseline-host-probes-and-lifecycle": pod_spec(
        containers=[container(livenessProbe={"httpGet": {"host": "169.254.169.254", "path": "/", "port": 80}})]
    ),
    "pss-baseline-apparmor": pod_spec(containers=[insecure_container(appArmorProfile={"type": "Unconfined"})]),
    "pss-baseline-selinux": pod_spec(containers=[insecure_container(seLinuxOptions={"type": "spc_t"})]),
    "pss-baseline-proc-mount": pod_spec(containers=[insecure_container(procMount="Unmasked")]),
    "pss-baseline-seccomp": pod_spec(securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}}),
    "pss-baseline-sysctls": pod_spec(
        securityContext={
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "kernel.msgmax", "value": "65536"}],
        }
    ),
    "pss-baseline-windows-host-process": pod_spec(
        hostNetwork=True, containers=[insecure_container(windowsOptions={"hostProcess": True})]
    ),
    "pss-restricted-volume-types": pod_spec(volumes=[{"name": "share", "nfs": {"server": "nfs.internal", "path": "/"}}]),
    "pss-restricted-privilege-escalation": pod_spec(containers=[insecure_container(allowPrivilegeEscalation=True)]),
    "pss-restricted-run-as-non-root": pod_spec(
        securityContext={"runAsNonRoot": False, "seccompProfile": {"type": "RuntimeDefault"}}
    ),
    "pss-restricted-run-as-user": pod_spec(containers=[insecure_container(runAsUser=0)]),
    "pss-restricted-seccomp": pod_spec(securityContext={"runAsNonRoot": True}),
    "pss-restricted-capabilities": pod_spec(containers=[insecure_container(capabilities={"drop": ["NET_RAW"]})]),
    "pss-restricted-proc-mount": pod_spec(hostUsers=False, containers=[insecure_container(procMount="Unmasked")]),
}
for policy_name, spec in PSS_VIOLATIONS.items():
    deployment(policy_name, spec)

# --- Workload hygiene and images --------------------------------------------------------------------
deployment("workload-resources-requests-limits", pod_spec(containers=[container(resources={})]))
deployment("workload-read-only-root-filesystem", pod_spec(containers=[insecure_container(readOnlyRootFilesystem=False)]))
deployment("workload-service-account-token-automount", pod_spec(automountServiceAccountToken=True))
deployment("workload-liveness-readiness-probes", pod_spec(containers=[container(livenessProbe=None, readinessProbe=None)]))
deployment("workload-forbidden-namespace", pod_spec(), namespace="default")
deployment("image-pinned-by-digest", pod_spec(containers=[container(image="ghcr.io/phoenix-orch/app:latest")]))
deployment("image-allowed-registry", pod_spec(containers=[container(image=f"docker.io/library/nginx@{DIGEST}")]))
deployment(
    "secrets-no-plaintext-in-env", pod_spec(containers=[container(env=[{"name": "DB_PASSWORD", "value": "hunter2-in-git"}])])
)

# --- RBAC -----------------------------------------------------------------------------------------
RBAC_META = {"namespace": NAMESPACE}
k8s.rbac.v1.Role(
    "rbac-no-wildcards",
    metadata={"name": "everything", **RBAC_META},
    rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
)
k8s.rbac.v1.Role(
    "rbac-no-escalation-verbs",
    metadata={"name": "escalator", **RBAC_META},
    rules=[{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate", "bind"]}],
)
k8s.rbac.v1.ClusterRole(
    "rbac-no-cluster-wide-secret-read",
    metadata={"name": "secret-reader"},
    rules=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
)
k8s.rbac.v1.ClusterRoleBinding(
    "rbac-no-cluster-admin-binding",
    metadata={"name": "make-admin"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    subjects=[{"kind": "ServiceAccount", "name": "app", "namespace": NAMESPACE}],
)
k8s.rbac.v1.RoleBinding(
    "rbac-no-anonymous-or-default-subjects",
    metadata={"name": "anyone", **RBAC_META},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
    subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:anonymous"}],
)
k8s.rbac.v1.ClusterRole(
    "rbac-cluster-scoped-forbidden",
    metadata={"name": "not-allowed"},
    rules=[{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
)

# --- Network and namespaces -------------------------------------------------------------------------
k8s.core.v1.Namespace(
    "namespace-pod-security-enforce", metadata={"name": NAMESPACE, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}
)
k8s.core.v1.Service(
    "network-service-type",
    metadata={"name": "public", "namespace": NAMESPACE},
    spec={"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]},
)
k8s.core.v1.Service(
    "network-service-external-ips",
    metadata={"name": "claims-ip", "namespace": NAMESPACE},
    spec={"selector": {"app": "x"}, "ports": [{"port": 80}], "externalIPs": ["203.0.113.10"]},
)
k8s.networking.v1.Ingress(
    "network-ingress-tls",
    metadata={"name": "plain-http", "namespace": NAMESPACE},
    spec={
        "rules": [
            {
                "host": "app.example.com",
                "http": {
                    "paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "public", "port": {"number": 80}}}}
                    ]
                },
            }
        ]
    },
)

# --- Storage and availability -----------------------------------------------------------------------
k8s.storage.v1.StorageClass(
    "storage-class-encryption", metadata={"name": "plain-gp3"}, provisioner="ebs.csi.aws.com", parameters={"type": "gp3"}
)
k8s.core.v1.PersistentVolumeClaim(
    "storage-claim-encrypted-class",
    metadata={"name": "data", "namespace": NAMESPACE},
    spec={"storageClassName": "plain-gp3", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
)
k8s.core.v1.PersistentVolume(
    "storage-no-host-path-volume",
    metadata={"name": "node-disk"},
    spec={"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/mnt/data"}},
)
k8s.autoscaling.v2.HorizontalPodAutoscaler(
    "availability-hpa-min-replicas",
    metadata={"name": "single", "namespace": NAMESPACE},
    spec={
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        "minReplicas": 1,
        "maxReplicas": 3,
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    },
)
k8s.autoscaling.v2.HorizontalPodAutoscaler(
    "availability-hpa-scale-down-stabilization",
    metadata={"name": "jumpy", "namespace": NAMESPACE},
    spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}, "minReplicas": 2, "maxReplicas": 3},
)
k8s.policy.v1.PodDisruptionBudget(
    "availability-pdb-allows-disruption",
    metadata={"name": "never", "namespace": NAMESPACE},
    spec={"maxUnavailable": 0, "selector": {"matchLabels": {"app": "x"}}},
)

deployment("availability-pdb-below-replicas-target", pod_spec())  # one replica (the default) ...
k8s.policy.v1.PodDisruptionBudget(
    "availability-pdb-below-replicas",
    metadata={"name": "all-of-them", "namespace": NAMESPACE},
    spec={"minAvailable": 1, "selector": {"matchLabels": {"app": "availability-pdb-below-replicas-target"}}},
)

# --- Secrets ------------------------------------------------------------------------------------------
k8s.core.v1.ConfigMap(
    "secrets-no-plaintext-in-config-maps",
    metadata={"name": "settings", "namespace": NAMESPACE},
    data={"DATABASE_URL": "postgres://app:hunter2@db:5432/app"},
)
# The typed Secret resource always wraps data in a Pulumi secret; registering the raw type (as
# other tooling or hand-written YAML effectively does) sends plaintext data.
pulumi.CustomResource(
    "kubernetes:core/v1:Secret",
    "secrets-data-is-pulumi-secret",
    props={
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "plaintext", "namespace": NAMESPACE},
        "stringData": {"password": "hunter2"},
    },
)

# --- Image builds -------------------------------------------------------------------------------------
# The program's runtime venv (../../.venv, used by the real engine) does not carry pulumi-docker-build
# (it is an optional extra, see requirements-build.txt), so only register image builds where it is
# installed, as in the dev venv the tests run in.
try:
    import pulumi_docker_build as docker_build
except ImportError:
    docker_build = None

if docker_build is not None:
    docker_build.Image(
        "image-build-immutable-tag", tags=["ghcr.io/phoenix-orch/app:latest"], push=True, context={"location": "."}
    )
    docker_build.Image(
        "image-build-no-secret-build-args",
        tags=["ghcr.io/phoenix-orch/app:v1.0.0"],
        push=True,
        context={"location": "."},
        build_args={"NPM_TOKEN": "npm_abcdefghijklmnop"},
    )
