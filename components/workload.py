"""A service's workload: Deployment (Pod Security `restricted`), ClusterIP Service, HPA, PDB and Ingress."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.labels import service_selector, standard_labels
from components.profiles import EnvironmentProfile
from components.secrets import SECRETS_MOUNT_PATH
from components.spec import IngressSpec, ServiceSpec

# A fixed, non-root identity that matches the USER of the Phoenix images.
RUN_AS_USER = 10001
PORT_NAME = "http"
# Prometheus metrics: only the scraper may reach this port (components.network).
METRICS_PORT_NAME = "metrics"
METRICS_PORT_ENV = "PHOENIX_METRICS_PORT"


@dataclass(frozen=True)
class WorkloadInputs:
    """What the workload takes from the other components of its service."""

    namespace: pulumi.Input[str]
    image: pulumi.Input[str]
    service_account: pulumi.Input[str]
    secret_name: pulumi.Input[str] | None
    claim_name: pulumi.Input[str] | None


def pod_security_context() -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        # Volume permissions come from fsGroup, not from a root init container.
        fs_group=RUN_AS_USER,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def probes(service: ServiceSpec, profile: EnvironmentProfile) -> dict[str, k8s.core.v1.ProbeArgs]:
    def http(path: str, **timing: int) -> k8s.core.v1.ProbeArgs:
        return k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=PORT_NAME),
            period_seconds=profile.probe_period_seconds,
            timeout_seconds=3,
            **timing,
        )

    return {
        "liveness_probe": http(service.probes.liveness_path, failure_threshold=3),
        "readiness_probe": http(service.probes.readiness_path, failure_threshold=3),
        # Gives a slow start up to 30 periods before liveness may restart the pod.
        "startup_probe": http(service.probes.liveness_path, failure_threshold=30),
    }


def volumes_and_mounts(
    service: ServiceSpec, inputs: WorkloadInputs
) -> tuple[list[k8s.core.v1.VolumeArgs], list[k8s.core.v1.VolumeMountArgs]]:
    volumes: list[k8s.core.v1.VolumeArgs] = []
    mounts: list[k8s.core.v1.VolumeMountArgs] = []
    if inputs.secret_name is not None:
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="secrets",
                secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=inputs.secret_name, default_mode=0o440),
            )
        )
        mounts.append(k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_MOUNT_PATH, read_only=True))
    if inputs.claim_name is not None and service.storage is not None:
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="data",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=inputs.claim_name),
            )
        )
        mounts.append(k8s.core.v1.VolumeMountArgs(name="data", mount_path=service.storage.mount_path))
    if service.scratch is not None:
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=service.scratch.size_limit)
            )
        )
        mounts.append(k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=service.scratch.mount_path))
    return volumes, mounts


def topology_spread(service: ServiceSpec) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
    # ScheduleAnyway: spread when the cluster can, never leave a pod pending for it.
    return [
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key=key,
            when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=service_selector(service.name)),
        )
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def pod_spec(service: ServiceSpec, profile: EnvironmentProfile, inputs: WorkloadInputs) -> k8s.core.v1.PodSpecArgs:
    volumes, mounts = volumes_and_mounts(service, inputs)
    env = [k8s.core.v1.EnvVarArgs(name=name, value=value) for name, value in sorted(service.env.items())]
    if METRICS_PORT_ENV not in service.env:
        env.append(k8s.core.v1.EnvVarArgs(name=METRICS_PORT_ENV, value=str(service.metrics_port)))
    if service.secrets:
        env.append(k8s.core.v1.EnvVarArgs(name="PHOENIX_SECRETS_DIR", value=SECRETS_MOUNT_PATH))
    container = k8s.core.v1.ContainerArgs(
        name=service.name,
        image=inputs.image,
        image_pull_policy="IfNotPresent",
        ports=[
            k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=service.port, protocol="TCP"),
            k8s.core.v1.ContainerPortArgs(name=METRICS_PORT_NAME, container_port=service.metrics_port, protocol="TCP"),
        ],
        env=env,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": service.resources.requests.cpu, "memory": service.resources.requests.memory},
            limits={"cpu": service.resources.limits.cpu, "memory": service.resources.limits.memory},
        ),
        security_context=container_security_context(),
        volume_mounts=mounts,
        **probes(service, profile),
    )
    return k8s.core.v1.PodSpecArgs(
        service_account_name=inputs.service_account,
        # Only a service that calls the Kubernetes API gets its token.
        automount_service_account_token=bool(service.kubernetes_api),
        enable_service_links=False,
        security_context=pod_security_context(),
        containers=[container],
        volumes=volumes,
        topology_spread_constraints=topology_spread(service) if profile.topology_spread else None,
        termination_grace_period_seconds=30,
    )


class Workload(pulumi.ComponentResource):
    """Deployment, Service, HorizontalPodAutoscaler, and (prod) PodDisruptionBudget and (exposed) Ingress."""

    dns_name: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        service: ServiceSpec,
        profile: EnvironmentProfile,
        inputs: WorkloadInputs,
        ingress: IngressSpec | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Workload", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = standard_labels(profile.name, service.name)
        selector = k8s.meta.v1.LabelSelectorArgs(match_labels=service_selector(service.name))
        metadata = k8s.meta.v1.ObjectMetaArgs(name=service.name, namespace=inputs.namespace, labels=labels)

        deployment = k8s.apps.v1.Deployment(
            f"{resource_name}-deployment",
            metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No `replicas`: the HPA owns the count, and a value here would fight it on every update.
                selector=selector,
                revision_history_limit=profile.revision_history_limit,
                progress_deadline_seconds=profile.progress_deadline_seconds,
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_unavailable=profile.rollout_max_unavailable, max_surge=profile.rollout_max_surge
                    ),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=pod_spec(service, profile, inputs),
                ),
            ),
            opts=child,
        )
        cluster_service = k8s.core.v1.Service(
            f"{resource_name}-service",
            metadata=metadata,
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=service_selector(service.name),
                ports=[k8s.core.v1.ServicePortArgs(name=PORT_NAME, port=service.port, target_port=PORT_NAME, protocol="TCP")],
            ),
            opts=child,
        )
        autoscaling = service.autoscaling
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{resource_name}-autoscaler",
            metadata=metadata,
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=deployment.metadata.name
                ),
                min_replicas=autoscaling.min_replicas,
                max_replicas=autoscaling.max_replicas,
                metrics=[
                    _utilization("cpu", autoscaling.target_cpu_utilization),
                    _utilization("memory", autoscaling.target_memory_utilization),
                ],
                behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                    # At most two pods (or a doubling) a minute up; half a minute's worth down
                    # after the window, so a brief dip never drops capacity.
                    scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=0,
                        select_policy="Min",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Pods", value=2, period_seconds=60),
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Percent", value=100, period_seconds=60),
                        ],
                    ),
                    scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=autoscaling.scale_down_stabilization_seconds,
                        select_policy="Min",
                        policies=[k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Percent", value=50, period_seconds=60)],
                    ),
                ),
            ),
            opts=child,
        )
        if profile.pod_disruption_budget:
            # maxUnavailable 1: drains proceed one pod at a time and never block.
            k8s.policy.v1.PodDisruptionBudget(
                f"{resource_name}-disruption-budget",
                metadata=metadata,
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(max_unavailable=1, selector=selector),
                opts=child,
            )
        if service.exposed and ingress is not None:
            host = f"{service.name}.{ingress.domain}"
            k8s.networking.v1.Ingress(
                f"{resource_name}-ingress",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=service.name,
                    namespace=inputs.namespace,
                    labels=labels,
                    # The controller publishes its address when it gets to it, and the
                    # host's DNS is managed outside this stack: waiting for it adds nothing.
                    annotations={"pulumi.com/skipAwait": "true"},
                ),
                spec=k8s.networking.v1.IngressSpecArgs(
                    ingress_class_name=ingress.class_name,
                    tls=[k8s.networking.v1.IngressTLSArgs(hosts=[host], secret_name=ingress.tls_secret_name)],
                    rules=[
                        k8s.networking.v1.IngressRuleArgs(
                            host=host,
                            http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                                paths=[
                                    k8s.networking.v1.HTTPIngressPathArgs(
                                        path="/",
                                        path_type="Prefix",
                                        backend=k8s.networking.v1.IngressBackendArgs(
                                            service=k8s.networking.v1.IngressServiceBackendArgs(
                                                name=cluster_service.metadata.name,
                                                port=k8s.networking.v1.ServiceBackendPortArgs(name=PORT_NAME),
                                            )
                                        ),
                                    )
                                ]
                            ),
                        )
                    ],
                ),
                opts=child,
            )
        self.dns_name = pulumi.Output.concat(
            cluster_service.metadata.name, ".", cluster_service.metadata.namespace, ".svc.cluster.local"
        )
        self.register_outputs({"deployment": deployment.metadata.name, "dnsName": self.dns_name})


def _utilization(resource: str, target: int) -> k8s.autoscaling.v2.MetricSpecArgs:
    return k8s.autoscaling.v2.MetricSpecArgs(
        type="Resource",
        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
            name=resource,
            target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=target),
        ),
    )
