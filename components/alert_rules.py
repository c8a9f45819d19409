"""The security guide's alert rules, as plain data: Prometheus rule groups for one stack.

One source for the PrometheusRule the monitoring component registers, the rule
file `promtool check rules` validates and the rules `promtool test rules`
exercises, and the queries the Grafana dashboard draws.

Metrics come from the standard exporters of a Prometheus Operator install:
cAdvisor through the kubelet (container usage), kube-state-metrics (limits,
restarts, autoscalers) and node-exporter (hosts).
"""

from __future__ import annotations

from typing import Any

from components.spec import PlatformSpec, ServiceSpec, Threshold

CPU_ALERT = "PhoenixContainerCpuHigh"
MEMORY_ALERT = "PhoenixContainerMemoryHigh"
RESTART_ALERT = "PhoenixContainerRestarting"
NODE_CPU_ALERT = "PhoenixNodeCpuHigh"
NODE_MEMORY_ALERT = "PhoenixNodeMemoryHigh"
NODE_DISK_ALERT = "PhoenixNodeDiskHigh"
CONTAINER_ALERTS = (CPU_ALERT, MEMORY_ALERT, RESTART_ALERT)
NODE_ALERTS = (NODE_CPU_ALERT, NODE_MEMORY_ALERT, NODE_DISK_ALERT)
# The `service` label of the host alerts, which belong to no one service.
HOST_SERVICE = "host"
# Alerts of one container: a critical inhibits the warning with these same labels.
CONTAINER_KEYS = ("namespace", "pod", "container")
# File systems that are not host disks.
PSEUDO_FILESYSTEMS = "tmpfs|ramfs|overlay|squashfs|nsfs|autofs|fuse.lxcfs"


def ratio(percent: int) -> str:
    """A percentage as the ratio PromQL compares with (85 -> 0.85)."""
    return f"{percent / 100:g}"


def _selector(namespace: str, container: str, **extra: str) -> str:
    matchers = {"namespace": namespace, "container": container, **extra}
    return "{" + ", ".join(f'{name}="{value}"' for name, value in matchers.items()) + "}"


def container_limit(namespace: str, container: str, resource: str) -> str:
    """The container's limit of `resource` (cpu in cores, memory in bytes), per pod."""
    return (
        f"sum by ({', '.join(CONTAINER_KEYS)}) "
        f"(kube_pod_container_resource_limits{_selector(namespace, container, resource=resource)})"
    )


def container_cpu_usage(namespace: str, container: str, window: str) -> str:
    """CPU cores used, per pod."""
    return (
        f"sum by ({', '.join(CONTAINER_KEYS)}) "
        f"(rate(container_cpu_usage_seconds_total{_selector(namespace, container)}[{window}]))"
    )


def container_memory_usage(namespace: str, container: str) -> str:
    """Working-set bytes (what the OOM killer compares with the limit), per pod."""
    return f"max by ({', '.join(CONTAINER_KEYS)}) (container_memory_working_set_bytes{_selector(namespace, container)})"


def container_cpu_ratio(namespace: str, container: str, window: str) -> str:
    return (
        f"{container_cpu_usage(namespace, container, window)}\n"
        f"  / on ({', '.join(CONTAINER_KEYS)})\n"
        f"{container_limit(namespace, container, 'cpu')}"
    )


def container_memory_ratio(namespace: str, container: str) -> str:
    return (
        f"{container_memory_usage(namespace, container)}\n"
        f"  / on ({', '.join(CONTAINER_KEYS)})\n"
        f"{container_limit(namespace, container, 'memory')}"
    )


def service_restarts(namespace: str, container: str, window: str) -> str:
    """Restarts of the service's containers within `window`, over all its pods.

    max - min of the restart counter, not increase(): increase() extrapolates to the
    window's edges, so 2 restarts could read as 2.1 and page for nothing.
    """
    series = f"kube_pod_container_status_restarts_total{_selector(namespace, container)}"
    return f"sum by (namespace, container) (max_over_time({series}[{window}]) - min_over_time({series}[{window}]))"


def node_cpu_ratio(window: str) -> str:
    """Busy share of each node's CPUs (everything but idle, iowait and steal)."""
    return (
        f'sum by (instance) (rate(node_cpu_seconds_total{{mode!~"idle|iowait|steal"}}[{window}]))\n'
        f'  / count by (instance) (node_cpu_seconds_total{{mode="idle"}})'
    )


def node_memory_ratio() -> str:
    return "1 - max by (instance) (node_memory_MemAvailable_bytes) / max by (instance) (node_memory_MemTotal_bytes)"


def node_disk_ratio() -> str:
    selector = f'{{fstype!~"{PSEUDO_FILESYSTEMS}"}}'
    keys = "instance, device, mountpoint"
    return (
        f"1 - max by ({keys}) (node_filesystem_avail_bytes{selector})\n  / max by ({keys}) (node_filesystem_size_bytes{selector})"
    )


def runbook_url(spec: PlatformSpec, alert: str) -> str:
    return f"{spec.monitoring.runbook_base_url}/{alert}"


def _labels(spec: PlatformSpec, severity: str, service: str) -> dict[str, str]:
    # `namespace` as well: the AlertmanagerConfig of the stack only receives alerts of its namespace.
    return {"severity": severity, "service": service, "environment": spec.environment, "namespace": spec.namespace}


def _rule(
    spec: PlatformSpec,
    alert: str,
    expr: str,
    duration: str,
    severity: str,
    service: str,
    summary: str,
    description: str,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": alert, "expr": expr}
    if any(digit in duration for digit in "123456789"):  # no `for` when it is zero: fire at once
        rule["for"] = duration
    rule["labels"] = _labels(spec, severity, service)
    rule["annotations"] = {"summary": summary, "description": description, "runbook_url": runbook_url(spec, alert)}
    return rule


def _container_pair(
    spec: PlatformSpec, service: ServiceSpec, alert: str, resource: str, expr: str, warning: Threshold, critical: Threshold
) -> list[dict[str, Any]]:
    rules = []
    for severity, threshold in (("warning", warning), ("critical", critical)):
        rules.append(
            _rule(
                spec,
                alert,
                f"{expr}\n  > {ratio(threshold.percent)}",
                threshold.for_,
                severity,
                service.name,
                f"{service.name} ({spec.environment}) {resource} above {threshold.percent}% of its limit",
                f"Container {{{{ $labels.container }}}} of pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} "
                f"has used {{{{ $value | humanizePercentage }}}} of its {resource} limit for {threshold.for_} "
                f"({severity} above {threshold.percent}%).",
            )
        )
    return rules


def service_rules(spec: PlatformSpec, service: ServiceSpec) -> list[dict[str, Any]]:
    thresholds = spec.monitoring.thresholds
    namespace = spec.namespace
    restarts = thresholds.container_restarts
    return [
        *_container_pair(
            spec,
            service,
            CPU_ALERT,
            "CPU",
            container_cpu_ratio(namespace, service.name, thresholds.cpu_rate_window),
            thresholds.container_cpu.warning,
            thresholds.container_cpu.critical,
        ),
        *_container_pair(
            spec,
            service,
            MEMORY_ALERT,
            "memory",
            container_memory_ratio(namespace, service.name),
            thresholds.container_memory.warning,
            thresholds.container_memory.critical,
        ),
        _rule(
            spec,
            RESTART_ALERT,
            f"{service_restarts(namespace, service.name, restarts.window)}\n  > {restarts.count}",
            "0s",
            "warning",
            service.name,
            f"{service.name} ({spec.environment}) restarted more than {restarts.count} times in {restarts.window}",
            f'Containers of service {service.name} in {namespace} restarted {{{{ printf "%.0f" $value }}}} times '
            f"in the last {restarts.window} (warning above {restarts.count}).",
        ),
    ]


def node_rules(spec: PlatformSpec) -> list[dict[str, Any]]:
    thresholds = spec.monitoring.thresholds
    rules = []
    for alert, expr, threshold, what in (
        (NODE_CPU_ALERT, node_cpu_ratio(thresholds.cpu_rate_window), thresholds.node_cpu, "CPU"),
        (NODE_MEMORY_ALERT, node_memory_ratio(), thresholds.node_memory, "memory"),
        (NODE_DISK_ALERT, node_disk_ratio(), thresholds.node_disk, "disk"),
    ):
        where = "{{ $labels.mountpoint }} on {{ $labels.instance }}" if alert == NODE_DISK_ALERT else "{{ $labels.instance }}"
        rules.append(
            _rule(
                spec,
                alert,
                f"{expr}\n  > {ratio(threshold.percent)}",
                threshold.for_,
                "warning",
                HOST_SERVICE,
                f"Node {what} above {threshold.percent}% (hosts of {spec.environment})",
                f"Node {what} use on {where} has been {{{{ $value | humanizePercentage }}}} for {threshold.for_} "
                f"(warning above {threshold.percent}%).",
            )
        )
    return rules


def group_name(spec: PlatformSpec, part: str) -> str:
    return f"phoenix-{spec.environment}-{part}"


def rule_groups(spec: PlatformSpec) -> list[dict[str, Any]]:
    """The rule groups of a stack: one per service, and one for the hosts."""
    interval = spec.monitoring.scraper.interval
    groups = [
        {"name": group_name(spec, service.name), "interval": interval, "rules": service_rules(spec, service)}
        for service in spec.services
    ]
    groups.append({"name": group_name(spec, "hosts"), "interval": interval, "rules": node_rules(spec)})
    return groups


def rule_file(spec: PlatformSpec) -> dict[str, Any]:
    """A Prometheus rule file (what `promtool check rules` takes)."""
    return {"groups": rule_groups(spec)}
