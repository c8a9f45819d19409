"""Monitoring of one stack with the Prometheus Operator's resources, watched from its first minute.

Per service a PodMonitor scraping its metrics port; one PrometheusRule with the
security guide's alerts (components.alert_rules); the Alertmanager routing as an
AlertmanagerConfig with its credentials in a Secret (components.alert_routing);
and a Grafana dashboard in a ConfigMap the Grafana sidecar loads
(components.dashboard).

The operator's CRDs (monitoring.coreos.com) are the cluster's, not this stack's:
see README "Monitoring and alerts".
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components import alert_routing
from components.alert_rules import rule_groups
from components.dashboard import dashboard
from components.labels import service_selector, standard_labels
from components.spec import PlatformSpec, ServiceSpec
from components.workload import METRICS_PORT_NAME

MONITORING_API = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG_API = "monitoring.coreos.com/v1alpha1"
# Grafana's sidecar files dashboards into the folder this annotation names (its `folderAnnotation`).
GRAFANA_FOLDER_ANNOTATION = "grafana_folder"


def rule_name(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}-alerts"


def alertmanager_config_name(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}"


def dashboard_config_map_name(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}-dashboard"


def dashboard_file_name(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}.json"


def pod_monitor_spec(spec: PlatformSpec, service: ServiceSpec) -> dict[str, object]:
    return {
        "selector": {"matchLabels": service_selector(service.name)},
        "namespaceSelector": {"matchNames": [spec.namespace]},
        "podMetricsEndpoints": [
            {
                "port": METRICS_PORT_NAME,
                "path": service.metrics_path,
                "scheme": "http",
                "interval": spec.monitoring.scraper.interval,
                "honorLabels": False,
            }
        ],
    }


class PlatformMonitoring(pulumi.ComponentResource):
    """PodMonitors, PrometheusRule, AlertmanagerConfig and its Secret, and the dashboard ConfigMap."""

    def __init__(
        self,
        resource_name: str,
        spec: PlatformSpec,
        namespace: pulumi.Input[str],
        secret_values: dict[str, pulumi.Output[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Monitoring", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        monitoring = spec.monitoring
        # For the operator's selectors; the standard labels win over anything they repeat.
        operator_labels = {**monitoring.resource_labels, **standard_labels(spec.environment)}
        outputs: dict[str, pulumi.Input[object]] = {}

        for service in spec.services:
            k8s.apiextensions.CustomResource(
                f"{resource_name}-{service.name}-pod-monitor",
                api_version=MONITORING_API,
                kind="PodMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=service.name,
                    namespace=namespace,
                    labels={**monitoring.resource_labels, **standard_labels(spec.environment, service.name)},
                ),
                spec=pod_monitor_spec(spec, service),
                opts=child,
            )
        outputs["podMonitors"] = [service.name for service in spec.services]

        k8s.apiextensions.CustomResource(
            f"{resource_name}-rules",
            api_version=MONITORING_API,
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=rule_name(spec), namespace=namespace, labels=operator_labels),
            spec={"groups": rule_groups(spec)},
            opts=child,
        )
        outputs["prometheusRule"] = rule_name(spec)

        if monitoring.alerting is not None:
            entries = alert_routing.secret_entries(spec)
            secret = k8s.core.v1.Secret(
                f"{resource_name}-alerting-secret",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=alert_routing.alerting_secret_name(spec), namespace=namespace, labels=standard_labels(spec.environment)
                ),
                type="Opaque",
                # Each value stays a Pulumi secret: encrypted in state, masked in previews.
                string_data={key: pulumi.Output.secret(secret_values[config_key]) for key, config_key in entries.items()},  # type: ignore[arg-type]
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["data", "stringData"]),
            )
            k8s.apiextensions.CustomResource(
                f"{resource_name}-alertmanager-config",
                api_version=ALERTMANAGER_CONFIG_API,
                kind="AlertmanagerConfig",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=alertmanager_config_name(spec), namespace=namespace, labels=operator_labels
                ),
                spec=alert_routing.alertmanager_config_spec(spec),
                # The operator reads the receivers' credentials from the Secret when it loads this.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
            )
            outputs["alertmanagerConfig"] = alertmanager_config_name(spec)

        k8s.core.v1.ConfigMap(
            f"{resource_name}-dashboard",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=dashboard_config_map_name(spec),
                namespace=namespace,
                labels={**monitoring.dashboard.labels, **standard_labels(spec.environment)},
                annotations={GRAFANA_FOLDER_ANNOTATION: monitoring.dashboard.folder},
            ),
            data={dashboard_file_name(spec): json.dumps(dashboard(spec), indent=2, sort_keys=True)},
            opts=child,
        )
        outputs["dashboard"] = dashboard_config_map_name(spec)
        self.register_outputs(outputs)
