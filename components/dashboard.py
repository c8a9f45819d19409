"""The Grafana dashboard of one stack, as plain data: per service, CPU, memory, restarts and
autoscaler replicas drawn against their limits and the alert thresholds, and the hosts.

The queries are the alert rules' own (components.alert_rules), so what the dashboard
shows is what the alerts measure.
"""

from __future__ import annotations

from typing import Any

from components import alert_rules
from components.spec import PlatformSpec, ServiceSpec

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
PANEL_WIDTH = 6
PANEL_HEIGHT = 8
WARNING_COLOR = "orange"
CRITICAL_COLOR = "red"


def dashboard_uid(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}"


def _target(ref: str, expr: str, legend: str) -> dict[str, Any]:
    return {"refId": ref, "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}


def _line_color(name: str, color: str, dashed: bool = True) -> dict[str, Any]:
    properties: list[dict[str, Any]] = [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]
    if dashed:
        properties.append({"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}})
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def _timeseries(
    panel_id: int,
    title: str,
    unit: str,
    targets: list[dict[str, Any]],
    position: tuple[int, int],
    overrides: list[dict[str, Any]],
    description: str,
) -> dict[str, Any]:
    x, y = position
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": PANEL_WIDTH, "h": PANEL_HEIGHT},
        "fieldConfig": {"defaults": {"unit": unit, "min": 0, "custom": {"lineWidth": 2}}, "overrides": overrides},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": targets,
    }


def _usage_panel(spec: PlatformSpec, service: ServiceSpec, panel_id: int, y: int, x: int, resource: str) -> dict[str, Any]:
    thresholds = spec.monitoring.thresholds
    namespace = spec.namespace
    if resource == "cpu":
        usage = alert_rules.container_cpu_usage(namespace, service.name, thresholds.cpu_rate_window)
        levels, unit, title = thresholds.container_cpu, "short", "CPU (cores)"
        alert = alert_rules.CPU_ALERT
    else:
        usage = alert_rules.container_memory_usage(namespace, service.name)
        levels, unit, title = thresholds.container_memory, "bytes", "Memory (working set)"
        alert = alert_rules.MEMORY_ALERT
    limit = f"max({alert_rules.container_limit(namespace, service.name, resource)})"
    warning, critical = levels.warning, levels.critical
    warning_name = f"warning ({warning.percent}% for {warning.for_})"
    critical_name = f"critical ({critical.percent}% for {critical.for_})"
    return _timeseries(
        panel_id,
        f"{service.name}: {title}",
        unit,
        [
            _target("A", usage, "{{pod}}"),
            _target("B", limit, "limit"),
            _target("C", f"{alert_rules.ratio(warning.percent)} * {limit}", warning_name),
            _target("D", f"{alert_rules.ratio(critical.percent)} * {limit}", critical_name),
        ],
        (x, y),
        [
            _line_color("limit", "purple", dashed=False),
            _line_color(warning_name, WARNING_COLOR),
            _line_color(critical_name, CRITICAL_COLOR),
        ],
        f"Per pod, against the container limit and the {alert} thresholds.",
    )


def _restart_panel(spec: PlatformSpec, service: ServiceSpec, panel_id: int, y: int) -> dict[str, Any]:
    restarts = spec.monitoring.thresholds.container_restarts
    threshold_name = f"warning (> {restarts.count} in {restarts.window})"
    return _timeseries(
        panel_id,
        f"{service.name}: restarts in {restarts.window}",
        "short",
        [
            _target("A", alert_rules.service_restarts(spec.namespace, service.name, restarts.window), "restarts"),
            _target("B", f"vector({restarts.count})", threshold_name),
        ],
        (2 * PANEL_WIDTH, y),
        [_line_color(threshold_name, WARNING_COLOR)],
        f"Container restarts of every pod of the service, against the {alert_rules.RESTART_ALERT} threshold.",
    )


def _replica_panel(spec: PlatformSpec, service: ServiceSpec, panel_id: int, y: int) -> dict[str, Any]:
    selector = f'{{namespace="{spec.namespace}", horizontalpodautoscaler="{service.name}"}}'
    return _timeseries(
        panel_id,
        f"{service.name}: HPA replicas",
        "short",
        [
            _target("A", f"kube_horizontalpodautoscaler_status_current_replicas{selector}", "current"),
            _target("B", f"kube_horizontalpodautoscaler_status_desired_replicas{selector}", "desired"),
            _target("C", f"kube_horizontalpodautoscaler_spec_min_replicas{selector}", "min"),
            _target("D", f"kube_horizontalpodautoscaler_spec_max_replicas{selector}", "max"),
        ],
        (3 * PANEL_WIDTH, y),
        [_line_color("max", CRITICAL_COLOR), _line_color("min", "blue")],
        # The bounds come from the HPA's own metrics, so a replica change in config
        # changes the autoscaler alone, not this dashboard.
        "Replicas the autoscaler runs, between its min and max bounds.",
    )


def _row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
        "panels": [],
    }


def _host_panels(spec: PlatformSpec, first_id: int, y: int) -> list[dict[str, Any]]:
    thresholds = spec.monitoring.thresholds
    panels = []
    for index, (title, expr, threshold, legend) in enumerate(
        (
            ("Nodes: CPU", alert_rules.node_cpu_ratio(thresholds.cpu_rate_window), thresholds.node_cpu, "{{instance}}"),
            ("Nodes: memory", alert_rules.node_memory_ratio(), thresholds.node_memory, "{{instance}}"),
            ("Nodes: disk", alert_rules.node_disk_ratio(), thresholds.node_disk, "{{instance}} {{mountpoint}}"),
        )
    ):
        name = f"warning ({threshold.percent}% for {threshold.for_})"
        panels.append(
            _timeseries(
                first_id + index,
                title,
                "percentunit",
                [_target("A", expr, legend), _target("B", f"vector({alert_rules.ratio(threshold.percent)})", name)],
                (index * PANEL_WIDTH, y),
                [_line_color(name, WARNING_COLOR)],
                "Share in use on each node, against the host alert threshold.",
            )
        )
    return panels


def dashboard(spec: PlatformSpec) -> dict[str, Any]:
    """The dashboard model (Grafana's JSON), one row per service and one for the hosts."""
    panels: list[dict[str, Any]] = []
    panel_id = 1
    y = 0
    for service in spec.services:
        panels.append(_row(panel_id, f"{service.name}", y))
        y += 1
        panels.append(_usage_panel(spec, service, panel_id + 1, y, 0, "cpu"))
        panels.append(_usage_panel(spec, service, panel_id + 2, y, PANEL_WIDTH, "memory"))
        panels.append(_restart_panel(spec, service, panel_id + 3, y))
        panels.append(_replica_panel(spec, service, panel_id + 4, y))
        panel_id += 5
        y += PANEL_HEIGHT
    panels.append(_row(panel_id, "Hosts", y))
    panels.extend(_host_panels(spec, panel_id + 1, y + 1))
    return {
        "uid": dashboard_uid(spec),
        "title": f"Phoenix {spec.environment}",
        "description": f"Phoenix services in namespace {spec.namespace}: usage against limits and alert thresholds.",
        "tags": ["phoenix", spec.environment],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }
