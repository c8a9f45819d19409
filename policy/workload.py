"""Workload hygiene beyond the Pod Security Standards: resources, read-only root filesystems,
service account tokens, probes and the namespaces workloads may run in."""

from __future__ import annotations

from pulumi_policy import Severity

from policy.fields import field, mapping, strings
from policy.model import PolicyConfig, Resource, ResourcePolicy, cis, nsa
from policy.pods import LONG_RUNNING, POD_BEARING, containers, pod_template, workload_namespace

# Ephemeral containers may not declare resources or probes (the API rejects them), so those
# checks look at regular and init containers only.
RESOURCE_BEARING_LISTS = ("containers", "initContainers")


def requests_and_limits(resource: Resource, _config: PolicyConfig) -> list[str]:
    pod = pod_template(resource)
    if pod is None:
        return []
    messages = []
    for container in containers(pod, RESOURCE_BEARING_LISTS):
        resources = mapping(container.spec.get("resources"))
        missing = [
            f"{section}.{name}"
            for section in ("requests", "limits")
            for name in ("cpu", "memory")
            if field(resources, section, name) in (None, "")
        ]
        if missing:
            messages.append(f'container "{container.name}" does not set resources.{", resources.".join(missing)}')
    return messages


def read_only_root_filesystem(resource: Resource, _config: PolicyConfig) -> list[str]:
    pod = pod_template(resource)
    if pod is None:
        return []
    return [
        f'container "{c.name}" does not set securityContext.readOnlyRootFilesystem=true'
        for c in containers(pod)
        if c.security_context.get("readOnlyRootFilesystem") is not True
    ]


def workload_key(resource: Resource) -> str:
    return f"{workload_namespace(resource)}/{resource.declared_name or resource.logical_name}"


def service_account_token_not_mounted(resource: Resource, config: PolicyConfig) -> list[str]:
    pod = pod_template(resource)
    if pod is None:
        return []
    if workload_key(resource) in strings(config.get("allowedWorkloads")):
        return []
    if pod.spec.get("automountServiceAccountToken") is False:
        return []
    return [
        f"{workload_key(resource)} does not set {pod.path}.automountServiceAccountToken=false and is not "
        "listed in allowedWorkloads"
    ]


def liveness_and_readiness_probes(resource: Resource, _config: PolicyConfig) -> list[str]:
    pod = pod_template(resource)
    if pod is None:
        return []
    messages = []
    for container in containers(pod, ("containers",)):
        missing = [probe for probe in ("livenessProbe", "readinessProbe") if container.spec.get(probe) is None]
        if missing:
            messages.append(f'container "{container.name}" has no {" and no ".join(missing)}')
    return messages


def not_in_forbidden_namespace(resource: Resource, config: PolicyConfig) -> list[str]:
    namespace = workload_namespace(resource)
    if namespace in strings(config.get("forbiddenNamespaces")):
        written = "" if resource.namespace else " (no metadata.namespace, so the provider's or the default namespace)"
        return [f"runs in namespace {namespace}{written}"]
    return []


WORKLOAD_POLICIES = [
    ResourcePolicy(
        name="workload-resources-requests-limits",
        description="Every container must set CPU and memory requests and limits.",
        severity=Severity.MEDIUM,
        remediation="Set resources.requests.cpu, resources.requests.memory, resources.limits.cpu and "
        "resources.limits.memory on every container and init container.",
        frameworks=(nsa("Resource policies"),),
        applies_to=POD_BEARING,
        check=requests_and_limits,
    ),
    ResourcePolicy(
        name="workload-read-only-root-filesystem",
        description="Containers must run with a read-only root filesystem.",
        severity=Severity.MEDIUM,
        remediation="Set securityContext.readOnlyRootFilesystem: true on every container and mount emptyDir "
        "volumes where the process must write.",
        frameworks=(nsa("Immutable container file systems"),),
        applies_to=POD_BEARING,
        check=read_only_root_filesystem,
    ),
    ResourcePolicy(
        name="workload-service-account-token-automount",
        description="Pods must not mount a service account token unless the workload is explicitly allowed.",
        severity=Severity.MEDIUM,
        remediation="Set automountServiceAccountToken: false in the pod spec, or add <namespace>/<name> of a "
        "workload that needs the Kubernetes API to allowedWorkloads.",
        frameworks=(cis("5.1.6"), nsa("Protecting Pod service account tokens")),
        config_properties={
            "allowedWorkloads": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[^/]+/[^/]+$"},
                "default": [],
                "description": "Workloads (<namespace>/<name>) allowed to mount their service account token.",
            }
        },
        applies_to=POD_BEARING,
        check=service_account_token_not_mounted,
    ),
    ResourcePolicy(
        name="workload-liveness-readiness-probes",
        description="Long-running containers must define liveness and readiness probes.",
        severity=Severity.LOW,
        remediation="Add livenessProbe and readinessProbe (httpGet, tcpSocket, grpc or exec) to every container.",
        frameworks=(nsa("Pod security"),),
        # Job and CronJob pods run to completion and are not behind Services, so probes do not apply.
        applies_to=LONG_RUNNING,
        check=liveness_and_readiness_probes,
    ),
    ResourcePolicy(
        name="workload-forbidden-namespace",
        description="Workloads must not run in the default, kube-system or kube-public namespace.",
        severity=Severity.MEDIUM,
        remediation="Set metadata.namespace to the application's own namespace (e.g. phoenix-prod).",
        frameworks=(cis("5.7.4"), nsa("Namespaces")),
        config_properties={
            "forbiddenNamespaces": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["default", "kube-system", "kube-public"],
                "description": "Namespaces workloads must not be deployed to.",
            }
        },
        applies_to=POD_BEARING,
        check=not_in_forbidden_namespace,
    ),
]
