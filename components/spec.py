"""The validated platform spec: what a stack's config means, checked before anything is registered.

Field names are the camelCase keys of the stack config (`minReplicas`), and
attribute names their snake_case (`min_replicas`). Defaults that depend on the
environment come from `components.profiles` and are filled in here, so the
components receive concrete values only.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components.profiles import PROFILES, Environment, EnvironmentProfile
from components.quantity import QUANTITY_HELP, format_cpu, format_memory, parse_quantity


def spec_error(path: tuple[str | int, ...], value: Any, allowed: str) -> PydanticCustomError:
    """A value well-formed on its own but not allowed in context.

    `path` is relative to the model whose validator raises it; pydantic adds
    the location of that model, and the config loader joins the two.
    """
    return PydanticCustomError(
        "phoenix_spec",
        "{allowed}",
        {"path": path, "value": value, "allowed": allowed},
    )


def _positive_quantity(text: str) -> str:
    try:
        value = parse_quantity(text)
    except ValueError:
        raise ValueError(QUANTITY_HELP) from None
    if value <= 0:
        raise ValueError(f"{QUANTITY_HELP}, greater than zero")
    return text


Quantity = Annotated[str, AfterValidator(_positive_quantity)]
DnsLabel = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")]
ConfigKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
AbsolutePath = Annotated[str, Field(pattern=r"^/[-._/A-Za-z0-9]*$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Percentage = Annotated[int, Field(ge=1, le=100)]

# A reference is pinned when it names a sha256 digest.
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_TAG = re.compile(r":(?P<tag>[\w][\w.-]{0,127})$")


def image_is_pinned(reference: str) -> bool:
    return _DIGEST.search(reference) is not None


def image_tag(reference: str) -> str | None:
    """The tag of a reference without digest, or None when it has no tag."""
    last_segment = reference.rsplit("/", 1)[-1]
    match = _TAG.search(last_segment)
    return match["tag"] if match else None


class StrictModel(BaseModel):
    """Unknown keys are errors, not silently ignored typos."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


class ResourceAmounts(StrictModel):
    cpu: Quantity
    memory: Quantity


class Resources(StrictModel):
    requests: ResourceAmounts
    limits: ResourceAmounts

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        for resource in ("cpu", "memory"):
            request = getattr(self.requests, resource)
            limit = getattr(self.limits, resource)
            if parse_quantity(request) > parse_quantity(limit):
                raise spec_error(
                    ("requests", resource),
                    request,
                    f"a {resource} request no larger than its limit ({limit})",
                )
        return self


class Autoscaling(StrictModel):
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    target_cpu_utilization: Percentage = 70
    target_memory_utilization: Percentage = 80
    scale_down_stabilization_seconds: int = Field(default=300, ge=0, le=3600)

    @model_validator(mode="after")
    def _max_not_below_min(self) -> Autoscaling:
        if self.max_replicas < self.min_replicas:
            raise spec_error(
                ("maxReplicas",),
                self.max_replicas,
                f"maxReplicas at least minReplicas ({self.min_replicas})",
            )
        return self


class Storage(StrictModel):
    size: Quantity
    mount_path: AbsolutePath


class Scratch(StrictModel):
    """A writable emptyDir, for services that need scratch space under a read-only root."""

    mount_path: AbsolutePath = "/tmp"
    size_limit: Quantity = "64Mi"


_ALLOWED_VERBS = Literal["get", "list", "watch", "create", "update", "patch", "delete"]
_NAME = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9./]*[a-z0-9])?$")]


class ApiAccess(StrictModel):
    """One namespaced RBAC rule: exact API groups, resources and verbs, never wildcards."""

    api_groups: list[Annotated[str, Field(pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$")]] = Field(default_factory=lambda: [""])
    resources: list[_NAME] = Field(min_length=1)
    verbs: list[_ALLOWED_VERBS] = Field(min_length=1)
    resource_names: list[_NAME] = Field(default_factory=list)


class ImageBuild(StrictModel):
    context: str
    dockerfile: str = "Dockerfile"
    # An immutable version tag (a release or commit id); the workload still
    # references the pushed image by digest.
    tag: Annotated[str, Field(pattern=r"^[\w][\w.-]{0,127}$")]

    @model_validator(mode="after")
    def _tag_is_not_latest(self) -> ImageBuild:
        if self.tag == "latest":
            raise spec_error(("tag",), self.tag, "an immutable version tag such as a release or commit id")
        return self


class HttpProbes(StrictModel):
    liveness_path: AbsolutePath = "/healthz"
    readiness_path: AbsolutePath = "/readyz"


class ServiceSpec(StrictModel):
    name: DnsLabel
    image: str | None = None
    build: ImageBuild | None = None
    port: Port
    # Prometheus metrics, on a port of their own so only the scraper is let in there.
    metrics_port: Port = 9090
    metrics_path: AbsolutePath = "/metrics"
    probes: HttpProbes = HttpProbes()
    resources: Resources
    autoscaling: Autoscaling
    storage: Storage | None = None
    scratch: Scratch | None = None
    secrets: list[ConfigKey] = Field(default_factory=list)
    calls: list[DnsLabel] = Field(default_factory=list)
    exposed: bool = False
    kubernetes_api: list[ApiAccess] = Field(default_factory=list)
    env: dict[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")], str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_an_image_source(self) -> ServiceSpec:
        if self.image is None and self.build is None:
            raise spec_error(("image",), None, "an image reference, or a build section")
        if self.image is not None and not re.match(r"^[a-z0-9][\w.\-/:@]*$", self.image):
            raise spec_error(("image",), self.image, "an image reference such as registry/name@sha256:<digest>")
        if self.metrics_port == self.port:
            raise spec_error(("metricsPort",), self.metrics_port, f"a port other than the service port ({self.port})")
        return self


class StorageClassSpec(StrictModel):
    provisioner: str = "ebs.csi.aws.com"
    # Provisioner parameters, encryption included (EBS: encrypted, kmsKeyId).
    parameters: dict[str, str] = Field(default_factory=lambda: {"type": "gp3", "encrypted": "true"})


class IngressSpec(StrictModel):
    controller_namespace: DnsLabel = "ingress-nginx"
    class_name: str = "nginx"
    domain: str
    tls_secret_name: DnsLabel


class NetworkSpec(StrictModel):
    dns_namespace: DnsLabel = "kube-system"
    dns_pod_labels: dict[str, str] = Field(default_factory=lambda: {"k8s-app": "kube-dns"})
    # Where the Kubernetes API server is reachable from pods, for services
    # that declare kubernetesApi access (egress is otherwise denied).
    api_server_cidrs: list[Annotated[str, Field(pattern=r"^[0-9a-fA-F.:]+/\d{1,3}$")]] = Field(default_factory=list)
    api_server_port: Port = 443


# A Prometheus duration such as 30s, 5m or 1h30m.
Duration = Annotated[str, Field(pattern=r"^([0-9]+(ms|s|m|h|d|w|y))+$")]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
# Kubernetes label keys (optionally prefixed) and values.
LabelKey = Annotated[str, Field(pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
LabelValue = Annotated[str, Field(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")]


class Threshold(StrictModel):
    """Alert when a share of a limit or capacity stays above `percent` for `for`."""

    percent: Percentage
    for_: Duration = Field(alias="for")


class SeverityThresholds(StrictModel):
    warning: Threshold
    critical: Threshold

    @model_validator(mode="after")
    def _critical_above_warning(self) -> SeverityThresholds:
        if self.critical.percent <= self.warning.percent:
            raise spec_error(
                ("critical", "percent"),
                self.critical.percent,
                f"a critical threshold above the warning one ({self.warning.percent})",
            )
        return self


class RestartThreshold(StrictModel):
    """Alert (warning) when a service restarts more than `count` times within `window`."""

    count: int = Field(default=2, ge=0)
    window: Duration = "15m"


def _threshold(percent: int, duration: str) -> Threshold:
    return Threshold.model_validate({"percent": percent, "for": duration})


def _severities(warning: int, critical: int) -> SeverityThresholds:
    return SeverityThresholds(warning=_threshold(warning, "5m"), critical=_threshold(critical, "2m"))


class AlertThresholds(StrictModel):
    """The security guide's alert thresholds; each one can be overridden per stack."""

    container_cpu: SeverityThresholds = Field(default_factory=lambda: _severities(85, 95))
    container_memory: SeverityThresholds = Field(default_factory=lambda: _severities(85, 95))
    container_restarts: RestartThreshold = RestartThreshold()
    node_cpu: Threshold = _threshold(85, "5m")
    node_memory: Threshold = _threshold(85, "5m")
    node_disk: Threshold = _threshold(85, "5m")
    # The window CPU usage is measured over (a rate; at least 4 scrape intervals).
    cpu_rate_window: Duration = "2m"


class ScraperSpec(StrictModel):
    """The Prometheus pods that scrape the services: only they reach the metrics ports."""

    namespace: DnsLabel = "monitoring"
    pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=lambda: {"app.kubernetes.io/name": "prometheus"})
    interval: Duration = "30s"


class DashboardSpec(StrictModel):
    # The label the Grafana dashboard sidecar watches for.
    labels: dict[LabelKey, LabelValue] = Field(default_factory=lambda: {"grafana_dashboard": "1"})
    folder: str = "Phoenix"


_EMAIL = r"^[^@\s]+@[^@\s]+$"


class EmailReceiver(StrictModel):
    to: Annotated[str, Field(pattern=_EMAIL)]
    from_: Annotated[str, Field(pattern=_EMAIL)] = Field(alias="from")
    smarthost: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")]
    auth_username: str | None = None
    # The secret config key holding the SMTP password.
    auth_password_secret: ConfigKey | None = None
    require_tls: bool = True


class SlackReceiver(StrictModel):
    channel: Annotated[str, Field(pattern=r"^[#@][-_.a-z0-9]+$")]
    # The secret config key holding the incoming-webhook URL.
    webhook_url_secret: ConfigKey


class PagerDutyReceiver(StrictModel):
    # The secret config key holding the Events API v2 routing (integration) key.
    routing_key_secret: ConfigKey


class ReceiverSpec(StrictModel):
    """Where alerts of one severity go: any of email, Slack and PagerDuty."""

    email: EmailReceiver | None = None
    slack: SlackReceiver | None = None
    pager_duty: PagerDutyReceiver | None = None
    repeat_interval: Duration | None = None

    @model_validator(mode="after")
    def _has_an_integration(self) -> ReceiverSpec:
        if self.email is None and self.slack is None and self.pager_duty is None:
            raise spec_error(("email",), None, "at least one of email, slack or pagerDuty")
        return self

    def secret_keys(self) -> list[str]:
        keys = [
            self.email.auth_password_secret if self.email else None,
            self.slack.webhook_url_secret if self.slack else None,
            self.pager_duty.routing_key_secret if self.pager_duty else None,
        ]
        return [key for key in keys if key is not None]


class AlertingSpec(StrictModel):
    """Alertmanager routing: group, route critical and warning apart, inhibit a warning its critical covers."""

    group_by: list[LabelName] = Field(default_factory=lambda: ["alertname", "environment", "service"], min_length=1)
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    critical: ReceiverSpec
    warning: ReceiverSpec

    def secret_keys(self) -> list[str]:
        return sorted(set(self.critical.secret_keys()) | set(self.warning.secret_keys()))


class MonitoringSpec(StrictModel):
    """Prometheus Operator resources per stack: monitors, alert rules, routing and a Grafana dashboard."""

    enabled: bool = True
    # Extra labels on the PodMonitors, PrometheusRule and AlertmanagerConfig, for the
    # operator's selectors (kube-prometheus-stack selects `release: <its release>`).
    resource_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    scraper: ScraperSpec = ScraperSpec()
    thresholds: AlertThresholds = AlertThresholds()
    # Each alert links to <runbookBaseUrl>/<alert name>.
    runbook_base_url: Annotated[str, Field(pattern=r"^https?://[^\s]+[^/\s]$")] = "https://runbooks.phoenix.example.com/alerts"
    dashboard: DashboardSpec = DashboardSpec()
    # No routing (and no AlertmanagerConfig) when left out.
    alerting: AlertingSpec | None = None

    def secret_keys(self) -> list[str]:
        return self.alerting.secret_keys() if self.alerting is not None and self.enabled else []


class PlatformSpec(StrictModel):
    environment: Environment
    namespace: DnsLabel
    image_registry: str = "ghcr.io/phoenix-orch"
    build_images: bool = False
    storage_class: StorageClassSpec = StorageClassSpec()
    ingress: IngressSpec | None = None
    network: NetworkSpec = NetworkSpec()
    monitoring: MonitoringSpec = MonitoringSpec()
    services: list[ServiceSpec] = Field(min_length=1)

    @property
    def profile(self) -> EnvironmentProfile:
        return PROFILES[self.environment]

    @model_validator(mode="before")
    @classmethod
    def _fill_environment_defaults(cls, raw: Any) -> Any:
        """Fill what config leaves out from the environment's profile, before field validation."""
        if not isinstance(raw, dict) or raw.get("environment") not in PROFILES:
            return raw
        profile = PROFILES[raw["environment"]]
        services = raw.get("services")
        if isinstance(services, list):
            raw = {**raw, "services": [_with_profile_defaults(service, profile) for service in services]}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> PlatformSpec:
        profile = self.profile
        names = [service.name for service in self.services]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise spec_error(("services", index, "name"), name, "a name no other service has")
        for index, service in enumerate(self.services):
            where: tuple[str | int, ...] = ("services", index)
            for call_index, callee in enumerate(service.calls):
                if callee not in names or callee == service.name:
                    others = ", ".join(name for name in names if name != service.name)
                    raise spec_error((*where, "calls", call_index), callee, f"the name of another service ({others})")
            if service.autoscaling.min_replicas < profile.min_replicas_floor:
                raise spec_error(
                    (*where, "autoscaling", "minReplicas"),
                    service.autoscaling.min_replicas,
                    f"at least {profile.min_replicas_floor} replicas in {profile.name}",
                )
            if service.image is not None and profile.require_image_digest and not image_is_pinned(service.image):
                raise spec_error(
                    (*where, "image"),
                    service.image,
                    f"an image pinned by digest (name@sha256:<64 hex>) in {profile.name}; "
                    f"tag {image_tag(service.image) or '(none)'!r} can move",
                )
            if service.exposed and self.ingress is None:
                raise spec_error((*where, "exposed"), True, "exposed: true only when the stack configures ingress")
            if service.kubernetes_api and not self.network.api_server_cidrs:
                raise spec_error(
                    (*where, "kubernetesApi"),
                    "(rules)",
                    "kubernetesApi only when network.apiServerCidrs says where the API server is",
                )
            if service.build is not None and service.image is None and not self.build_images:
                raise spec_error(
                    (*where, "image"),
                    None,
                    "a prebuilt image reference while buildImages is false",
                )
        return self


def _with_profile_defaults(service: Any, profile: EnvironmentProfile) -> Any:
    if not isinstance(service, dict):
        return service
    service = dict(service)
    autoscaling = service.get("autoscaling")
    if isinstance(autoscaling, dict) and "minReplicas" not in autoscaling and "min_replicas" not in autoscaling:
        service["autoscaling"] = {**autoscaling, "minReplicas": profile.default_min_replicas}
    resources = service.get("resources")
    if isinstance(resources, dict) and "requests" not in resources and isinstance(resources.get("limits"), dict):
        service["resources"] = {**resources, "requests": _derived_requests(resources["limits"], profile.request_to_limit_ratio)}
    return service


def _derived_requests(limits: dict[str, Any], ratio: Decimal) -> dict[str, Any]:
    """Requests as a share of limits."""
    try:
        return {
            "cpu": format_cpu(parse_quantity(limits["cpu"]) * ratio),
            "memory": format_memory(parse_quantity(limits["memory"]) * ratio),
        }
    except (KeyError, TypeError, ValueError):
        # Field validation reports the malformed limit; this placeholder only keeps
        # the request the user never wrote from repeating that error.
        return {"cpu": "1m", "memory": "1Mi"}
