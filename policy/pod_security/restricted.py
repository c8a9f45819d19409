"""Restricted profile of the Pod Security Standards (PSA policy version v1.37).

The restricted profile also includes every baseline control (see ``baseline.py``).
"""

from __future__ import annotations

from pulumi_policy import Severity

from policy.fields import field, mappings, one_of, quoted, strings
from policy.model import cis, nsa
from policy.pod_security import pss_policy
from policy.pod_security.baseline import _containers_phrase, _unmasked_proc_mounts
from policy.pods import PodTemplate, containers, is_windows, pod_security_context, uses_user_namespace

# A volume passes when one of these sources is set; a volume naming no source at all is
# defaulted to emptyDir by the API server before admission sees it.
ALLOWED_VOLUME_SOURCES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)


def restricted_volumes(pod: PodTemplate) -> list[str]:
    bad: list[str] = []
    for volume in mappings(pod.spec.get("volumes")):
        sources = [key for key in volume if key != "name" and volume.get(key) is not None]
        if sources and not any(volume.get(source) is not None for source in ALLOWED_VOLUME_SOURCES):
            bad.append(str(volume.get("name")))
    if not bad:
        return []
    return [f"restricted volume types: volumes {quoted(sorted(bad))} have restricted types"]


def allow_privilege_escalation(pod: PodTemplate) -> list[str]:
    # Windows pods cannot set allowPrivilegeEscalation, so PSA (1.25+) skips them.
    if is_windows(pod):
        return []
    bad = [c.name for c in containers(pod) if c.security_context.get("allowPrivilegeEscalation") is not False]
    if not bad:
        return []
    return [
        f"allowPrivilegeEscalation != false: {_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false"
    ]


def run_as_non_root(pod: PodTemplate) -> list[str]:
    # Pods in their own user namespace run as root only inside it; PSA relaxes the check for them.
    if uses_user_namespace(pod):
        return []
    explicit_setters: list[str] = []
    pod_value = pod_security_context(pod).get("runAsNonRoot")
    if pod_value is False:
        explicit_setters.append("pod")
    explicitly_bad: list[str] = []
    implicitly_bad: list[str] = []
    for container in containers(pod):
        value = container.security_context.get("runAsNonRoot")
        if value is None:
            if pod_value is not True:
                implicitly_bad.append(container.name)
        elif value is not True:
            explicitly_bad.append(container.name)
    if explicitly_bad:
        explicit_setters.append(_containers_phrase(explicitly_bad))
    if explicit_setters:
        return [f"runAsNonRoot != true: {' and '.join(explicit_setters)} must not set securityContext.runAsNonRoot=false"]
    if implicitly_bad:
        return [f"runAsNonRoot != true: pod or {_containers_phrase(implicitly_bad)} must set securityContext.runAsNonRoot=true"]
    return []


def run_as_user(pod: PodTemplate) -> list[str]:
    if uses_user_namespace(pod):
        return []
    setters: list[str] = []
    if pod_security_context(pod).get("runAsUser") == 0:
        setters.append("pod")
    bad = [c.name for c in containers(pod) if c.security_context.get("runAsUser") == 0]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    return [f"runAsUser=0: {' and '.join(setters)} must not set runAsUser=0"]


VALID_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def seccomp_profile_restricted(pod: PodTemplate) -> list[str]:
    # Windows pods cannot set seccomp, so PSA (1.25+) skips them.
    if is_windows(pod):
        return []
    setters: list[str] = []
    values: set[str] = set()
    pod_profile = pod_security_context(pod).get("seccompProfile")
    pod_valid = False
    if pod_profile is not None:
        pod_type = field(pod_profile, "type")
        if one_of(pod_type, VALID_SECCOMP_TYPES):
            pod_valid = True
        else:
            setters.append("pod")
            values.add(str(pod_type))
    explicitly_bad: list[str] = []
    implicitly_bad: list[str] = []
    for container in containers(pod):
        profile = container.security_context.get("seccompProfile")
        if profile is None:
            if not pod_valid:
                implicitly_bad.append(container.name)
        elif not one_of(field(profile, "type"), VALID_SECCOMP_TYPES):
            explicitly_bad.append(container.name)
            values.add(str(field(profile, "type")))
    if explicitly_bad:
        setters.append(_containers_phrase(explicitly_bad))
    if setters:
        return [
            f"seccompProfile: {' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{quoted(sorted(values))}"
        ]
    if implicitly_bad:
        return [
            f"seccompProfile: pod or {_containers_phrase(implicitly_bad)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
        ]
    return []


def capabilities_restricted(pod: PodTemplate) -> list[str]:
    # Windows pods cannot set capabilities, so PSA (1.25+) skips them.
    if is_windows(pod):
        return []
    missing_drop_all: list[str] = []
    adding_forbidden: list[str] = []
    forbidden: set[str] = set()
    for container in containers(pod):
        capabilities = container.security_context.get("capabilities")
        if "ALL" not in strings(field(capabilities, "drop")):
            missing_drop_all.append(container.name)
        extra = [cap for cap in strings(field(capabilities, "add")) if cap != "NET_BIND_SERVICE"]
        if extra:
            adding_forbidden.append(container.name)
            forbidden.update(extra)
    details: list[str] = []
    if missing_drop_all:
        details.append(f'{_containers_phrase(missing_drop_all)} must set securityContext.capabilities.drop=["ALL"]')
    if adding_forbidden:
        details.append(
            f"{_containers_phrase(adding_forbidden)} must not include {quoted(sorted(forbidden))} "
            "in securityContext.capabilities.add"
        )
    return [f"unrestricted capabilities: {'; '.join(details)}"] if details else []


def proc_mount_restricted(pod: PodTemplate) -> list[str]:
    # Unlike baseline, restricted keeps the /proc masks even for pods with their own user namespace.
    return _unmasked_proc_mounts(pod)


RESTRICTED = "restricted"

RESTRICTED_POLICIES = [
    pss_policy(
        name="pss-restricted-volume-types",
        level=RESTRICTED,
        control="restrictedVolumes",
        description="Pods may use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
        "persistentVolumeClaim, projected and secret volumes.",
        severity=Severity.HIGH,
        remediation="Replace other spec.volumes[*] sources (hostPath, nfs, iscsi, cloud disks, ...) with a "
        "persistentVolumeClaim or one of the allowed volume types.",
        check=restricted_volumes,
        references=(nsa("Pod security"),),
    ),
    pss_policy(
        name="pss-restricted-privilege-escalation",
        level=RESTRICTED,
        control="allowPrivilegeEscalation",
        description="Containers must not allow privilege escalation.",
        severity=Severity.HIGH,
        remediation="Set securityContext.allowPrivilegeEscalation: false in every container, init container and "
        "ephemeral container.",
        check=allow_privilege_escalation,
        references=(cis("5.2.6"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-restricted-run-as-non-root",
        level=RESTRICTED,
        control="runAsNonRoot",
        description="Containers must run as a non-root user.",
        severity=Severity.HIGH,
        remediation="Set spec.securityContext.runAsNonRoot: true on the pod (or on every container) and never set it to false.",
        check=run_as_non_root,
        references=(cis("5.2.7"), nsa("Non-root containers and rootless container engines")),
    ),
    pss_policy(
        name="pss-restricted-run-as-user",
        level=RESTRICTED,
        control="runAsUser",
        description="Pods and containers must not run as UID 0.",
        severity=Severity.HIGH,
        remediation="Set securityContext.runAsUser to a non-zero UID (e.g. 10001) or remove it, at pod and container level.",
        check=run_as_user,
        references=(cis("5.2.7"), nsa("Non-root containers and rootless container engines")),
    ),
    pss_policy(
        name="pss-restricted-seccomp",
        level=RESTRICTED,
        control="seccompProfile_restricted",
        description="A seccomp profile (RuntimeDefault or Localhost) must be set.",
        severity=Severity.HIGH,
        remediation="Set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod (or on every "
        "container); never use Unconfined.",
        check=seccomp_profile_restricted,
        references=(cis("5.7.2"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-restricted-capabilities",
        level=RESTRICTED,
        control="capabilities_restricted",
        description="Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE.",
        severity=Severity.HIGH,
        remediation='Set securityContext.capabilities.drop: ["ALL"] in every container and remove every '
        "capabilities.add entry except NET_BIND_SERVICE.",
        check=capabilities_restricted,
        references=(cis("5.2.8"), cis("5.2.10"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-restricted-proc-mount",
        level=RESTRICTED,
        control="procMount_restricted",
        description="Containers must keep the default /proc masks, even with a user namespace.",
        severity=Severity.HIGH,
        remediation="Remove securityContext.procMount or set it to Default in every container.",
        check=proc_mount_restricted,
        references=(nsa("Pod security"),),
    ),
]
