"""Pod-spec extraction, done once for the eight pod-bearing kinds, and container iteration."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy.fields import field, mapping, mappings
from policy.model import Resource, kube

POD_BEARING_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}
)
POD_BEARING = kube(*POD_BEARING_KINDS)
LONG_RUNNING = kube("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController")

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class PodTemplate:
    """The pod a workload runs: the metadata PSA reads (AppArmor annotations) and the pod spec."""

    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    path: str
    """Where the pod spec sits in the manifest, for messages (e.g. spec.template.spec)."""


# Every pod policy asks for the template of the same resource: extract it once per resource
# (keyed by identity; a Resource never changes).
_TEMPLATES: weakref.WeakKeyDictionary[Resource, PodTemplate | None] = weakref.WeakKeyDictionary()


def pod_template(resource: Resource) -> PodTemplate | None:
    """The pod template of a pod-bearing resource, or None for any other resource."""
    try:
        return _TEMPLATES[resource]
    except KeyError:
        pass
    template = _extract_pod_template(resource)  # an unknown value raises before anything is cached
    _TEMPLATES[resource] = template
    return template


def _extract_pod_template(resource: Resource) -> PodTemplate | None:
    if resource.package != "kubernetes" or resource.kind not in POD_BEARING_KINDS:
        return None
    props = resource.props
    if resource.kind == "Pod":
        return PodTemplate(mapping(props.get("metadata")), mapping(props.get("spec")), "spec")
    if resource.kind == "CronJob":
        template = mapping(field(props, "spec", "jobTemplate", "spec", "template"))
        path = "spec.jobTemplate.spec.template.spec"
    else:
        template = mapping(field(props, "spec", "template"))
        path = "spec.template.spec"
    return PodTemplate(mapping(template.get("metadata")), mapping(template.get("spec")), path)


@dataclass(frozen=True)
class Container:
    """One container of a pod with the list it came from (containers, initContainers, ...)."""

    spec: Mapping[str, Any]
    list_name: str

    @property
    def name(self) -> str:
        value = self.spec.get("name")
        return value if isinstance(value, str) else "<unnamed>"

    @property
    def security_context(self) -> Mapping[str, Any]:
        return mapping(self.spec.get("securityContext"))

    @property
    def is_sidecar(self) -> bool:
        """Init containers with restartPolicy Always run for the pod's lifetime (native sidecars)."""
        return self.list_name == "initContainers" and self.spec.get("restartPolicy") == "Always"


def containers(pod: PodTemplate, lists: tuple[str, ...] = CONTAINER_LISTS) -> Iterator[Container]:
    """Every container of the pod, in PSA's order: containers, init containers, ephemeral containers."""
    for list_name in lists:
        for spec in mappings(pod.spec.get(list_name)):
            yield Container(spec, list_name)


def pod_security_context(pod: PodTemplate) -> Mapping[str, Any]:
    return mapping(pod.spec.get("securityContext"))


def is_windows(pod: PodTemplate) -> bool:
    return bool(field(pod.spec, "os", "name") == "windows")


def uses_user_namespace(pod: PodTemplate) -> bool:
    """hostUsers: false puts the pod in its own user namespace; PSA relaxes some checks for it."""
    return pod.spec.get("hostUsers") is False


def workload_namespace(resource: Resource) -> str:
    """The namespace a namespaced resource lands in ("default" when none is written)."""
    return resource.effective_namespace
