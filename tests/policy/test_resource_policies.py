"""Table-driven cases for every non-PSS resource policy: at least one compliant and one violating
manifest each, run through the runtime proxy."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import IMAGE, container, cron_job, deployment, obj, pod_spec, with_security
from policy_testkit import run
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from policy.model import PSS, ResourcePolicy
from policy.registry import ALL_POLICIES

Case = tuple[str, dict[str, Any], "dict[str, Any] | None", bool]


def rbac(kind: str, **fields: Any) -> dict[str, Any]:
    namespace = None if kind.startswith("Cluster") else "phoenix-prod"
    return obj("rbac.authorization.k8s.io/v1", kind, name="reader", namespace=namespace, **fields)


def binding(kind: str, role: str, subjects: list[dict[str, Any]]) -> dict[str, Any]:
    return rbac(kind, roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, subjects=subjects)


SA = {"kind": "ServiceAccount", "name": "api", "namespace": "phoenix-prod"}
CONFIGMAP_READ = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]


def service(**spec: Any) -> dict[str, Any]:
    return obj("v1", "Service", name="api", spec={"selector": {"app": "api"}, "ports": [{"port": 80}], **spec})


def ingress(tls: list[dict[str, Any]] | None, host: str = "api.example.com") -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"host": host, "http": {"paths": []}}]}
    if tls is not None:
        spec["tls"] = tls
    return obj("networking.k8s.io/v1", "Ingress", name="api", spec=spec)


def storage_class(provisioner: str, **parameters: str) -> dict[str, Any]:
    return obj("storage.k8s.io/v1", "StorageClass", name="fast", namespace=None, provisioner=provisioner, parameters=parameters)


def hpa(api_version: str = "autoscaling/v2", **spec: Any) -> dict[str, Any]:
    return obj(
        api_version,
        "HorizontalPodAutoscaler",
        name="api",
        spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "maxReplicas": 5, **spec},
    )


def pdb(**spec: Any) -> dict[str, Any]:
    return obj("policy/v1", "PodDisruptionBudget", name="api", spec={"selector": {"matchLabels": {"app": "api"}}, **spec})


def build(**props: Any) -> dict[str, Any]:
    return {"push": True, "tags": ["ghcr.io/phoenix-orch/api:v1.2.3"], "context": {"location": "."}, **props}


STABLE = {"scaleDown": {"stabilizationWindowSeconds": 300}}

CASES: list[Case] = [
    # workload
    ("workload-resources-requests-limits", deployment(), None, False),
    (
        "workload-resources-requests-limits",
        deployment(pod_spec(initContainers=[container("init", resources={"limits": {"cpu": "1"}})])),
        None,
        True,
    ),
    ("workload-read-only-root-filesystem", deployment(), None, False),
    (
        "workload-read-only-root-filesystem",
        deployment(pod_spec(containers=[with_security(container(), readOnlyRootFilesystem=False)])),
        None,
        True,
    ),
    ("workload-service-account-token-automount", deployment(), None, False),
    ("workload-service-account-token-automount", deployment(pod_spec(automountServiceAccountToken=True)), None, True),
    (
        "workload-service-account-token-automount",
        deployment(pod_spec(automountServiceAccountToken=True)),
        {"allowedWorkloads": ["phoenix-prod/api"]},
        False,
    ),
    (
        "workload-service-account-token-automount",
        deployment(pod_spec(automountServiceAccountToken=None)),
        {"allowedWorkloads": ["phoenix-dev/api"]},
        True,
    ),
    ("workload-liveness-readiness-probes", deployment(), None, False),
    (
        "workload-liveness-readiness-probes",
        cron_job(pod_spec(containers=[container(livenessProbe=None, readinessProbe=None)])),
        None,
        False,
    ),
    ("workload-liveness-readiness-probes", deployment(pod_spec(containers=[container(readinessProbe=None)])), None, True),
    ("workload-forbidden-namespace", deployment(), None, False),
    ("workload-forbidden-namespace", deployment(namespace="kube-system"), None, True),
    ("workload-forbidden-namespace", {**deployment(), "metadata": {"name": "api"}}, None, True),
    # images
    ("image-pinned-by-digest", deployment(), None, False),
    (
        "image-pinned-by-digest",
        deployment(pod_spec(initContainers=[container("init", image="ghcr.io/phoenix-orch/api:1.0")])),
        None,
        True,
    ),
    ("image-allowed-registry", deployment(), None, False),
    (
        "image-allowed-registry",
        deployment(pod_spec(containers=[container(image="docker.io/library/nginx@" + IMAGE.split("@")[1])])),
        None,
        True,
    ),
    (
        "image-allowed-registry",
        deployment(pod_spec(containers=[container(image="ghcr.io/phoenix-orchestra/api@" + IMAGE.split("@")[1])])),
        None,
        True,
    ),
    (
        "image-allowed-registry",
        deployment(pod_spec(containers=[container(image="nginx@" + IMAGE.split("@")[1])])),
        {"allowedRegistries": ["docker.io/library/"]},
        False,
    ),
    # rbac
    ("rbac-no-wildcards", rbac("Role", rules=CONFIGMAP_READ), None, False),
    ("rbac-no-wildcards", rbac("Role", rules=[{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}]), None, True),
    ("rbac-no-escalation-verbs", rbac("Role", rules=CONFIGMAP_READ), None, False),
    (
        "rbac-no-escalation-verbs",
        rbac("Role", rules=[{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]}]),
        None,
        True,
    ),
    (
        "rbac-no-escalation-verbs",
        rbac("ClusterRole", rules=[{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]),
        None,
        True,
    ),
    ("rbac-no-cluster-wide-secret-read", rbac("ClusterRole", rules=CONFIGMAP_READ), None, False),
    (
        "rbac-no-cluster-wide-secret-read",
        rbac("ClusterRole", rules=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
        None,
        True,
    ),
    ("rbac-no-cluster-admin-binding", binding("RoleBinding", "view", [SA]), None, False),
    ("rbac-no-cluster-admin-binding", binding("ClusterRoleBinding", "cluster-admin", [SA]), None, True),
    ("rbac-no-anonymous-or-default-subjects", binding("RoleBinding", "view", [SA]), None, False),
    (
        "rbac-no-anonymous-or-default-subjects",
        binding("RoleBinding", "view", [{"kind": "Group", "name": "system:unauthenticated"}]),
        None,
        True,
    ),
    (
        "rbac-no-anonymous-or-default-subjects",
        binding("RoleBinding", "view", [{"kind": "ServiceAccount", "name": "default", "namespace": "x"}]),
        None,
        True,
    ),
    (
        "rbac-no-anonymous-or-default-subjects",
        binding("RoleBinding", "view", [{"kind": "User", "name": "system:anonymous"}]),
        None,
        True,
    ),
    ("rbac-cluster-scoped-forbidden", rbac("ClusterRole", rules=CONFIGMAP_READ), {"allowedClusterRoles": ["reader"]}, False),
    ("rbac-cluster-scoped-forbidden", rbac("ClusterRoleBinding", roleRef={"kind": "ClusterRole", "name": "view"}), None, True),
    # network
    ("network-service-type", service(type="ClusterIP"), None, False),
    ("network-service-type", service(type="LoadBalancer"), None, True),
    ("network-service-type", service(type="NodePort"), {"allowedServiceTypes": ["NodePort"]}, False),
    ("network-service-external-ips", service(), None, False),
    ("network-service-external-ips", service(externalIPs=["203.0.113.7"]), None, True),
    ("network-service-external-ips", service(externalIPs=["203.0.113.7"]), {"allowedExternalIPs": ["203.0.113.7"]}, False),
    ("network-ingress-tls", ingress([{"hosts": ["api.example.com"], "secretName": "tls"}]), None, False),
    ("network-ingress-tls", ingress(None), None, True),
    ("network-ingress-tls", ingress([{"hosts": ["other.example.com"], "secretName": "tls"}]), None, True),
    # namespaces
    (
        "namespace-pod-security-enforce",
        obj("v1", "Namespace", name="phoenix-prod", namespace=None)
        | {"metadata": {"name": "phoenix-prod", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
        None,
        False,
    ),
    (
        "namespace-pod-security-enforce",
        obj("v1", "Namespace", name="phoenix-prod", namespace=None)
        | {"metadata": {"name": "phoenix-prod", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}},
        None,
        True,
    ),
    # storage
    ("storage-class-encryption", storage_class("ebs.csi.aws.com", type="gp3", encrypted="true"), None, False),
    ("storage-class-encryption", storage_class("ebs.csi.aws.com", type="gp3"), None, True),
    (
        "storage-class-encryption",
        storage_class("pd.csi.storage.gke.io", **{"disk-encryption-kms-key": "projects/p/keys/k"}),
        None,
        False,
    ),
    ("storage-class-encryption", storage_class("example.com/csi"), None, True),
    (
        "storage-class-encryption",
        storage_class("example.com/csi", secure="yes"),
        {"encryptionParameters": {"example.com/csi": {"secure": "yes"}}},
        False,
    ),
    (
        "storage-no-host-path-volume",
        obj(
            "v1", "PersistentVolume", name="pv", namespace=None, spec={"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "v"}}
        ),
        None,
        False,
    ),
    (
        "storage-no-host-path-volume",
        obj("v1", "PersistentVolume", name="pv", namespace=None, spec={"hostPath": {"path": "/data"}}),
        None,
        True,
    ),
    # availability
    ("availability-hpa-min-replicas", hpa(minReplicas=2, behavior=STABLE), None, False),
    ("availability-hpa-min-replicas", hpa(behavior=STABLE), None, True),
    ("availability-hpa-min-replicas", hpa(minReplicas=1, behavior=STABLE), {"minReplicas": 1}, False),
    ("availability-hpa-scale-down-stabilization", hpa(minReplicas=2, behavior=STABLE), None, False),
    ("availability-hpa-scale-down-stabilization", hpa(minReplicas=2), None, True),
    ("availability-hpa-scale-down-stabilization", hpa("autoscaling/v1", minReplicas=2), None, True),
    ("availability-pdb-allows-disruption", pdb(maxUnavailable=1), None, False),
    ("availability-pdb-allows-disruption", pdb(maxUnavailable=0), None, True),
    ("availability-pdb-allows-disruption", pdb(minAvailable="100%"), None, True),
    # secrets
    ("secrets-no-plaintext-in-config-maps", obj("v1", "ConfigMap", data={"LOG_LEVEL": "info", "TOKEN_TTL": "3600"}), None, False),
    ("secrets-no-plaintext-in-config-maps", obj("v1", "ConfigMap", data={"DB_PASSWORD": "hunter2!"}), None, True),
    ("secrets-no-plaintext-in-config-maps", obj("v1", "ConfigMap", data={"db": "postgres://app:s3cret@db:5432/app"}), None, True),
    (
        "secrets-no-plaintext-in-env",
        deployment(
            pod_spec(
                containers=[
                    container(
                        env=[
                            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
                            {"name": "TOKEN_FILE", "value": "/var/run/secrets/token"},
                        ]
                    )
                ]
            )
        ),
        None,
        False,
    ),
    (
        "secrets-no-plaintext-in-env",
        deployment(pod_spec(containers=[container(env=[{"name": "API_KEY", "value": "abc123xyz"}])])),
        None,
        True,
    ),
    (
        "secrets-no-plaintext-in-env",
        deployment(pod_spec(containers=[container(env=[{"name": "GH", "value": "ghp_" + "a" * 36}])])),
        None,
        True,
    ),
    (
        "secrets-data-is-pulumi-secret",
        obj(
            "v1",
            "Secret",
            data={"k": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "c2VjcmV0"}},
        ),
        None,
        False,
    ),
    (
        "secrets-data-is-pulumi-secret",
        obj(
            "v1",
            "Secret",
            stringData={"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": {"k": "v"}},
        ),
        None,
        False,
    ),
    ("secrets-data-is-pulumi-secret", obj("v1", "Secret", stringData={"password": "hunter2"}), None, True),
]

IMAGE_BUILD_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any] | None, bool]] = [
    ("image-build-immutable-tag", "docker-build:index:Image", build(), None, False),
    ("image-build-immutable-tag", "docker-build:index:Image", build(tags=["ghcr.io/phoenix-orch/api:latest"]), None, True),
    ("image-build-immutable-tag", "docker-build:index:Image", build(push=False, tags=["api:latest"]), None, False),
    ("image-build-immutable-tag", "docker:index/image:Image", {"imageName": "ghcr.io/phoenix-orch/api:main"}, None, True),
    ("image-build-immutable-tag", "docker:index/image:Image", {"imageName": "ghcr.io/phoenix-orch/api:3f9c2ab"}, None, False),
    ("image-build-no-secret-build-args", "docker-build:index:Image", build(buildArgs={"VERSION": "1.2.3"}), None, False),
    ("image-build-no-secret-build-args", "docker-build:index:Image", build(buildArgs={"NPM_TOKEN": "abc"}), None, True),
    (
        "image-build-no-secret-build-args",
        "docker-build:index:Image",
        build(buildArgs={"X": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "v"}}),
        None,
        True,
    ),
    (
        "image-build-no-secret-build-args",
        "docker:index/image:Image",
        {"imageName": "a:v1.0.0", "build": {"args": {"GITHUB_TOKEN": "x"}}},
        None,
        True,
    ),
]


def test_every_resource_policy_has_a_compliant_and_a_violating_case() -> None:
    covered: dict[str, set[bool]] = {}
    for name, _, _, violates in CASES:
        covered.setdefault(name, set()).add(violates)
    for name, _, _, _, violates in IMAGE_BUILD_CASES:
        covered.setdefault(name, set()).add(violates)
    for policy in ALL_POLICIES:
        if isinstance(policy, ResourcePolicy) and not any(f.name == PSS for f in policy.frameworks):
            assert covered.get(policy.name) == {True, False}, policy.name


@pytest.mark.parametrize(("policy", "manifest", "config", "violates"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_policy(policy: str, manifest: dict[str, Any], config: dict[str, Any] | None, violates: bool) -> None:
    assert bool(run(policy, manifest, config)) is violates


@pytest.mark.parametrize(
    ("policy", "token", "props", "config", "violates"),
    IMAGE_BUILD_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(IMAGE_BUILD_CASES)],
)
def test_image_build_policy(
    policy: str, token: str, props: dict[str, Any], config: dict[str, Any] | None, violates: bool
) -> None:
    assert bool(run(policy, props, config, token=token)) is violates


@pytest.mark.parametrize(
    ("policy", "manifest"),
    [
        ("image-pinned-by-digest", deployment(pod_spec(containers=[container(image=UNKNOWN_STRING_VALUE)]))),
        ("image-allowed-registry", deployment(pod_spec(containers=[container(image=UNKNOWN_STRING_VALUE)]))),
        ("workload-forbidden-namespace", {**deployment(), "metadata": {"name": "api", "namespace": UNKNOWN_STRING_VALUE}}),
        ("network-service-type", service(type=UNKNOWN_STRING_VALUE)),
        # An unknown name must not be matched against allowedWorkloads by a stand-in.
        (
            "workload-service-account-token-automount",
            {
                **deployment(pod_spec(automountServiceAccountToken=True)),
                "metadata": {"name": UNKNOWN_STRING_VALUE, "namespace": "phoenix-prod"},
            },
        ),
        ("storage-class-encryption", storage_class("ebs.csi.aws.com", encrypted=UNKNOWN_STRING_VALUE)),
        (
            "secrets-no-plaintext-in-env",
            deployment(pod_spec(containers=[container(env=[{"name": "PASSWORD", "value": UNKNOWN_STRING_VALUE}])])),
        ),
    ],
)
def test_unknown_value_is_never_compliant(policy: str, manifest: dict[str, Any]) -> None:
    with pytest.raises(UnknownValueError):
        run(policy, manifest)
