"""Alertmanager routing of one stack, as plain data, in two renderings of one model.

- `alertmanager_config_spec`: the spec of the stack's AlertmanagerConfig
  (monitoring.coreos.com/v1alpha1), which the Prometheus Operator merges into its
  Alertmanager's configuration for alerts of the stack's namespace. Credentials
  are references to keys of the stack's alerting Secret.
- `alertmanager_yaml`: the same routing tree, receivers and inhibition as a plain
  Alertmanager configuration file, with the credentials filled in: what
  `amtool check-config` validates, what the tests run an Alertmanager with, and
  what an Alertmanager without the operator can load.

Alerts are grouped (by alertname, environment and service by default) and so
deduplicated: Alertmanager notifies once per group and repeat interval, however
many Prometheus replicas send the same alert. Critical alerts go to the critical
receiver, warnings to the warning receiver, and a critical alert inhibits the
warning of the same alert and container.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.alert_rules import CONTAINER_KEYS
from components.spec import AlertingSpec, PlatformSpec, ReceiverSpec

SEVERITIES = ("critical", "warning")
# A critical alert mutes the warning that has all these labels equal.
INHIBIT_EQUAL = ("alertname", "environment", "service", *CONTAINER_KEYS)
# Keys of the alerting Secret, per integration.
SLACK_KEY = "slack-webhook-url"
PAGERDUTY_KEY = "pagerduty-routing-key"
SMTP_KEY = "smtp-password"

SLACK_TITLE = (
    "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.environment }} {{ .CommonLabels.service }})"
)
SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Labels.severity }}*: {{ .Annotations.summary }}\n"
    "{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}"
)
PAGERDUTY_DESCRIPTION = "{{ .CommonAnnotations.summary }}"
# The plain configuration's root receiver: alerts of other namespaces are not this stack's.
UNROUTED_RECEIVER = "unrouted"


def alerting_secret_name(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}-alerting"


def receiver_name(spec: PlatformSpec, severity: str) -> str:
    return f"phoenix-{spec.environment}-{severity}"


def _alerting(spec: PlatformSpec) -> AlertingSpec:
    alerting = spec.monitoring.alerting
    if alerting is None:
        raise ValueError(f"stack {spec.environment} configures no alerting")
    return alerting


def _receivers(alerting: AlertingSpec) -> list[tuple[str, ReceiverSpec]]:
    return [("critical", alerting.critical), ("warning", alerting.warning)]


def secret_entries(spec: PlatformSpec) -> dict[str, str]:
    """Alerting Secret key -> the secret config key holding its value."""
    entries: dict[str, str] = {}
    for severity, receiver in _receivers(_alerting(spec)):
        if receiver.slack is not None:
            entries[f"{severity}-{SLACK_KEY}"] = receiver.slack.webhook_url_secret
        if receiver.pager_duty is not None:
            entries[f"{severity}-{PAGERDUTY_KEY}"] = receiver.pager_duty.routing_key_secret
        if receiver.email is not None and receiver.email.auth_password_secret is not None:
            entries[f"{severity}-{SMTP_KEY}"] = receiver.email.auth_password_secret
    return entries


@dataclass(frozen=True)
class _Route:
    severity: str
    receiver: str
    repeat_interval: str | None


def _routes(spec: PlatformSpec) -> list[_Route]:
    return [
        _Route(severity, receiver_name(spec, severity), receiver.repeat_interval)
        for severity, receiver in _receivers(_alerting(spec))
    ]


# --- AlertmanagerConfig (operator) rendering ------------------------------------------------


def _matcher(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value, "matchType": "="}


def _cr_receiver(spec: PlatformSpec, severity: str, receiver: ReceiverSpec) -> dict[str, Any]:
    secret = alerting_secret_name(spec)
    rendered: dict[str, Any] = {"name": receiver_name(spec, severity)}
    if receiver.pager_duty is not None:
        rendered["pagerdutyConfigs"] = [
            {
                "routingKey": {"name": secret, "key": f"{severity}-{PAGERDUTY_KEY}"},
                "severity": severity,
                "description": PAGERDUTY_DESCRIPTION,
                "sendResolved": True,
            }
        ]
    if receiver.slack is not None:
        rendered["slackConfigs"] = [
            {
                "apiURL": {"name": secret, "key": f"{severity}-{SLACK_KEY}"},
                "channel": receiver.slack.channel,
                "title": SLACK_TITLE,
                "text": SLACK_TEXT,
                "sendResolved": True,
            }
        ]
    if receiver.email is not None:
        email: dict[str, Any] = {
            "to": receiver.email.to,
            "from": receiver.email.from_,
            "smarthost": receiver.email.smarthost,
            "requireTLS": receiver.email.require_tls,
            "sendResolved": True,
        }
        if receiver.email.auth_username is not None:
            email["authUsername"] = receiver.email.auth_username
        if receiver.email.auth_password_secret is not None:
            email["authPassword"] = {"name": secret, "key": f"{severity}-{SMTP_KEY}"}
        rendered["emailConfigs"] = [email]
    return rendered


def alertmanager_config_spec(spec: PlatformSpec) -> dict[str, Any]:
    """The spec of the stack's AlertmanagerConfig (v1alpha1)."""
    alerting = _alerting(spec)
    routes = []
    for route in _routes(spec):
        rendered: dict[str, Any] = {"receiver": route.receiver, "matchers": [_matcher("severity", route.severity)]}
        if route.repeat_interval is not None:
            rendered["repeatInterval"] = route.repeat_interval
        routes.append(rendered)
    return {
        "route": {
            # Alerts of neither severity still reach someone: the warning receiver.
            "receiver": receiver_name(spec, "warning"),
            "groupBy": list(alerting.group_by),
            "groupWait": alerting.group_wait,
            "groupInterval": alerting.group_interval,
            "repeatInterval": alerting.repeat_interval,
            "routes": routes,
        },
        "receivers": [_cr_receiver(spec, severity, receiver) for severity, receiver in _receivers(alerting)],
        "inhibitRules": [
            {
                "sourceMatch": [_matcher("severity", "critical")],
                "targetMatch": [_matcher("severity", "warning")],
                "equal": list(INHIBIT_EQUAL),
            }
        ],
    }


# --- Plain Alertmanager configuration rendering ---------------------------------------------


def _yaml_receiver(severity: str, name: str, receiver: ReceiverSpec, credentials: dict[str, str]) -> dict[str, Any]:
    rendered: dict[str, Any] = {"name": name}
    if receiver.pager_duty is not None:
        rendered["pagerduty_configs"] = [
            {
                "routing_key": credentials[f"{severity}-{PAGERDUTY_KEY}"],
                "severity": severity,
                "description": PAGERDUTY_DESCRIPTION,
                "send_resolved": True,
            }
        ]
    if receiver.slack is not None:
        rendered["slack_configs"] = [
            {
                "api_url": credentials[f"{severity}-{SLACK_KEY}"],
                "channel": receiver.slack.channel,
                "title": SLACK_TITLE,
                "text": SLACK_TEXT,
                "send_resolved": True,
            }
        ]
    if receiver.email is not None:
        email: dict[str, Any] = {
            "to": receiver.email.to,
            "from": receiver.email.from_,
            "smarthost": receiver.email.smarthost,
            "require_tls": receiver.email.require_tls,
            "send_resolved": True,
        }
        if receiver.email.auth_username is not None:
            email["auth_username"] = receiver.email.auth_username
        if receiver.email.auth_password_secret is not None:
            email["auth_password"] = credentials[f"{severity}-{SMTP_KEY}"]
        rendered["email_configs"] = [email]
    return rendered


def alertmanager_yaml(spec: PlatformSpec, credentials: dict[str, str], integrations: bool = True) -> dict[str, Any]:
    """A plain Alertmanager configuration with this stack's routing.

    `credentials` maps the alerting Secret's keys (`secret_entries`) to values.
    `integrations=False` keeps the receivers' names but drops what they send to, so
    an Alertmanager can run the routing and inhibition without notifying anyone.
    """
    alerting = _alerting(spec)
    routes = []
    for route in _routes(spec):
        rendered: dict[str, Any] = {"receiver": route.receiver, "matchers": [f'severity="{route.severity}"']}
        if route.repeat_interval is not None:
            rendered["repeat_interval"] = route.repeat_interval
        routes.append(rendered)
    receivers = [
        _yaml_receiver(severity, receiver_name(spec, severity), receiver, credentials)
        if integrations
        else {"name": receiver_name(spec, severity)}
        for severity, receiver in _receivers(alerting)
    ]
    return {
        "route": {
            "receiver": UNROUTED_RECEIVER,
            "group_by": list(alerting.group_by),
            "group_wait": alerting.group_wait,
            "group_interval": alerting.group_interval,
            "repeat_interval": alerting.repeat_interval,
            # As the operator does for an AlertmanagerConfig: only this stack's namespace.
            "routes": [
                {"receiver": receiver_name(spec, "warning"), "matchers": [f'namespace="{spec.namespace}"'], "routes": routes}
            ],
        },
        "receivers": [{"name": UNROUTED_RECEIVER}, *receivers],
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"', f'namespace="{spec.namespace}"'],
                "target_matchers": ['severity="warning"', f'namespace="{spec.namespace}"'],
                "equal": list(INHIBIT_EQUAL),
            }
        ],
    }
