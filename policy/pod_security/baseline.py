"""Baseline profile of the Pod Security Standards (PSA policy version v1.37).

Field-level rules follow k8s.io/pod-security-admission/policy/check_*.go: which fields are read,
which values are allowed, and how pod-level and container-level settings combine.
"""

from __future__ import annotations

from pulumi_policy import Severity

from policy.fields import field, mapping, mappings, one_of, quoted, sequence, show, strings
from policy.model import cis, nsa
from policy.pod_security import pss_policy
from policy.pods import PodTemplate, containers, pod_security_context, uses_user_namespace


def _containers_phrase(names: list[str]) -> str:
    return f"{'container' if len(names) == 1 else 'containers'} {quoted(names)}"


def host_namespaces(pod: PodTemplate) -> list[str]:
    shared = [f"{name}=true" for name in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(name) is True]
    return [f"host namespaces: {', '.join(shared)}"] if shared else []


def privileged(pod: PodTemplate) -> list[str]:
    bad = [c.name for c in containers(pod) if c.security_context.get("privileged") is True]
    if not bad:
        return []
    return [f"privileged: {_containers_phrase(bad)} must not set securityContext.privileged=true"]


BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def capabilities_baseline(pod: PodTemplate) -> list[str]:
    # PSA compares names exactly: "chown" or "CAP_CHOWN" are not the allowed "CHOWN".
    bad: list[str] = []
    forbidden: set[str] = set()
    for container in containers(pod):
        added = strings(field(container.security_context, "capabilities", "add"))
        extra = [cap for cap in added if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(container.name)
            forbidden.update(extra)
    if not bad:
        return []
    return [
        f"non-default capabilities: {_containers_phrase(bad)} must not include "
        f"{quoted(sorted(forbidden))} in securityContext.capabilities.add"
    ]


def host_path_volumes(pod: PodTemplate) -> list[str]:
    bad = [str(v.get("name")) for v in mappings(pod.spec.get("volumes")) if v.get("hostPath") is not None]
    return [f"hostPath volumes: {quoted(bad)}"] if bad else []


def host_ports(pod: PodTemplate) -> list[str]:
    bad: list[str] = []
    ports: list[str] = []
    for container in containers(pod):
        used = [p.get("hostPort") for p in mappings(container.spec.get("ports"))]
        used = [port for port in used if port not in (None, 0)]
        if used:
            bad.append(container.name)
            ports.extend(show(port) for port in used)
    if not bad:
        return []
    return [f"hostPort: {_containers_phrase(bad)} {'uses' if len(bad) == 1 else 'use'} hostPort {', '.join(ports)}"]


PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
LIFECYCLE_HANDLERS = ("postStart", "preStop")


def _handler_hosts(handler: object) -> list[str]:
    hosts = []
    for action in ("httpGet", "tcpSocket"):
        host = field(handler, action, "host")
        if isinstance(host, str) and host:
            hosts.append(host)
    return hosts


def host_probes_and_host_lifecycle(pod: PodTemplate) -> list[str]:
    bad: list[str] = []
    hosts: set[str] = set()
    for container in containers(pod):
        found = [h for probe in PROBES for h in _handler_hosts(container.spec.get(probe))]
        lifecycle = mapping(container.spec.get("lifecycle"))
        found += [h for hook in LIFECYCLE_HANDLERS for h in _handler_hosts(lifecycle.get(hook))]
        if found:
            bad.append(container.name)
            hosts.update(found)
    if not bad:
        return []
    return [
        f"probe or lifecycle host: {_containers_phrase(bad)} {'uses' if len(bad) == 1 else 'use'} "
        f"probe or lifecycle host {quoted(sorted(hosts))}"
    ]


APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
ALLOWED_APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_apparmor_annotation(value: object) -> bool:
    return value in ("", None, "runtime/default") or (isinstance(value, str) and value.startswith("localhost/"))


def app_armor_profile(pod: PodTemplate) -> list[str]:
    setters: list[str] = []
    values: set[str] = set()
    pod_type = field(pod_security_context(pod), "appArmorProfile", "type")
    if field(pod_security_context(pod), "appArmorProfile") is not None and not one_of(pod_type, ALLOWED_APPARMOR_TYPES):
        setters.append("pod")
        values.add(str(pod_type))
    bad: list[str] = []
    for container in containers(pod):
        profile = container.security_context.get("appArmorProfile")
        if profile is not None and not one_of(field(profile, "type"), ALLOWED_APPARMOR_TYPES):
            bad.append(container.name)
            values.add(str(field(profile, "type")))
    if bad:
        setters.append(_containers_phrase(bad))
    messages = []
    if setters:
        messages.append(
            f"forbidden AppArmor profile: {' and '.join(setters)} must not set "
            f"securityContext.appArmorProfile.type to {quoted(sorted(values))}"
        )
    annotations = mapping(pod.metadata.get("annotations"))
    legacy = sorted(
        f'{key}="{value}"'
        for key, value in annotations.items()
        if isinstance(key, str) and key.startswith(APPARMOR_ANNOTATION_PREFIX) and not _allowed_apparmor_annotation(value)
    )
    if legacy:
        messages.append(f"forbidden AppArmor profile annotation: {', '.join(legacy)}")
    return messages


ALLOWED_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


def se_linux_options(pod: PodTemplate) -> list[str]:
    bad_types: set[str] = set()
    problems: set[str] = set()

    def valid(options: object) -> bool:
        ok = True
        selinux_type = field(options, "type")
        if not one_of("" if selinux_type is None else selinux_type, ALLOWED_SELINUX_TYPES):
            bad_types.add(str(selinux_type))
            ok = False
        for attribute in ("user", "role"):
            if field(options, attribute):
                problems.add(f"{attribute} may not be set")
                ok = False
        return ok

    setters: list[str] = []
    pod_options = pod_security_context(pod).get("seLinuxOptions")
    if pod_options is not None and not valid(pod_options):
        setters.append("pod")
    bad = [
        c.name
        for c in containers(pod)
        if c.security_context.get("seLinuxOptions") is not None and not valid(c.security_context.get("seLinuxOptions"))
    ]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    details = ([f"type {quoted(sorted(bad_types))}"] if bad_types else []) + sorted(problems)
    return [f"seLinuxOptions: {' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(details)}"]


def _unmasked_proc_mounts(pod: PodTemplate) -> list[str]:
    bad: list[str] = []
    kinds: set[str] = set()
    for container in containers(pod):
        proc_mount = container.security_context.get("procMount")
        if proc_mount is not None and proc_mount != "Default":
            bad.append(container.name)
            kinds.add(str(proc_mount))
    if not bad:
        return []
    return [f"procMount: {_containers_phrase(bad)} must not set securityContext.procMount to {quoted(sorted(kinds))}"]


def proc_mount(pod: PodTemplate) -> list[str]:
    # Baseline lets pods in their own user namespace (hostUsers: false) unmask /proc.
    if uses_user_namespace(pod):
        return []
    return _unmasked_proc_mounts(pod)


def seccomp_profile_baseline(pod: PodTemplate) -> list[str]:
    setters: list[str] = []
    if field(pod_security_context(pod), "seccompProfile", "type") == "Unconfined":
        setters.append("pod")
    bad = [c.name for c in containers(pod) if field(c.security_context, "seccompProfile", "type") == "Unconfined"]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    return [f'seccompProfile: {" and ".join(setters)} must not set securityContext.seccompProfile.type to "Unconfined"']


# The safe sysctls of PSA v1.37: the 1.0 set plus those added in 1.27, 1.29, 1.32 and later.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
        "net.ipv4.tcp_slow_start_after_idle",
        "net.ipv4.tcp_notsent_lowat",
    }
)


def sysctls(pod: PodTemplate) -> list[str]:
    names = [field(s, "name") for s in sequence(pod_security_context(pod).get("sysctls"))]
    bad = [str(name) for name in names if not one_of(name, SAFE_SYSCTLS)]
    return [f"forbidden sysctls: {', '.join(bad)}"] if bad else []


def windows_host_process(pod: PodTemplate) -> list[str]:
    setters: list[str] = []
    if field(pod_security_context(pod), "windowsOptions", "hostProcess") is True:
        setters.append("pod")
    bad = [c.name for c in containers(pod) if field(c.security_context, "windowsOptions", "hostProcess") is True]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    return [f"hostProcess: {' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"]


BASELINE = "baseline"

BASELINE_POLICIES = [
    pss_policy(
        name="pss-baseline-host-namespaces",
        level=BASELINE,
        control="hostNamespaces",
        description="Pods must not share the host's network, PID or IPC namespace.",
        severity=Severity.CRITICAL,
        remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec, or set them to false.",
        check=host_namespaces,
        references=(cis("5.2.3"), cis("5.2.4"), cis("5.2.5"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-baseline-privileged",
        level=BASELINE,
        control="privileged",
        description="Containers must not run privileged.",
        severity=Severity.CRITICAL,
        remediation="Set securityContext.privileged to false (or remove it) in every container, init container "
        "and ephemeral container.",
        check=privileged,
        references=(cis("5.2.2"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-baseline-capabilities",
        level=BASELINE,
        control="capabilities_baseline",
        description="Containers may add only the capabilities of the baseline list.",
        severity=Severity.HIGH,
        remediation="Remove from securityContext.capabilities.add every capability other than AUDIT_WRITE, CHOWN, "
        "DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID "
        "and SYS_CHROOT (exact upper-case names without the CAP_ prefix).",
        check=capabilities_baseline,
        references=(cis("5.2.9"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-baseline-host-path-volumes",
        level=BASELINE,
        control="hostPathVolumes",
        description="Pods must not mount hostPath volumes.",
        severity=Severity.HIGH,
        remediation="Replace spec.volumes[*].hostPath with an emptyDir, configMap, secret, projected or "
        "persistentVolumeClaim volume.",
        check=host_path_volumes,
        references=(cis("5.2.12"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-baseline-host-ports",
        level=BASELINE,
        control="hostPorts",
        description="Containers must not bind host ports.",
        severity=Severity.HIGH,
        remediation="Remove ports[*].hostPort (or set it to 0) in every container; expose the port through a Service.",
        check=host_ports,
        references=(cis("5.2.13"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-baseline-host-probes-and-lifecycle",
        level=BASELINE,
        control="hostProbesAndHostLifecycle",
        description="Probes and lifecycle hooks must not target another host.",
        severity=Severity.MEDIUM,
        remediation="Remove the host field from httpGet and tcpSocket in livenessProbe, readinessProbe, startupProbe "
        "and lifecycle.postStart/preStop so they target the pod itself.",
        check=host_probes_and_host_lifecycle,
        references=(nsa("Pod security"),),
    ),
    pss_policy(
        name="pss-baseline-apparmor",
        level=BASELINE,
        control="appArmorProfile",
        description="AppArmor must not be disabled or overridden with an unconfined profile.",
        severity=Severity.HIGH,
        remediation="Set securityContext.appArmorProfile.type to RuntimeDefault or Localhost (pod or container) and "
        "remove container.apparmor.security.beta.kubernetes.io/* annotations other than runtime/default "
        "or localhost/<profile>.",
        check=app_armor_profile,
        references=(nsa("Pod security"),),
    ),
    pss_policy(
        name="pss-baseline-selinux",
        level=BASELINE,
        control="seLinuxOptions",
        description="SELinux options must not set a custom user or role or a type outside the container types.",
        severity=Severity.HIGH,
        remediation="In securityContext.seLinuxOptions (pod and containers) remove user and role and set type only "
        "to container_t, container_init_t, container_kvm_t or container_engine_t.",
        check=se_linux_options,
        references=(nsa("Pod security"),),
    ),
    pss_policy(
        name="pss-baseline-proc-mount",
        level=BASELINE,
        control="procMount",
        description="Containers must keep the default /proc masks (unless the pod has its own user namespace).",
        severity=Severity.HIGH,
        remediation="Remove securityContext.procMount or set it to Default in every container.",
        check=proc_mount,
        references=(nsa("Pod security"),),
    ),
    pss_policy(
        name="pss-baseline-seccomp",
        level=BASELINE,
        control="seccompProfile_baseline",
        description="Seccomp must not be explicitly disabled.",
        severity=Severity.HIGH,
        remediation="Set securityContext.seccompProfile.type to RuntimeDefault or Localhost instead of Unconfined "
        "(pod and containers).",
        check=seccomp_profile_baseline,
        references=(cis("5.7.2"), nsa("Pod security")),
    ),
    pss_policy(
        name="pss-baseline-sysctls",
        level=BASELINE,
        control="sysctls",
        description="Pods may set only the namespaced, isolated ('safe') sysctls.",
        severity=Severity.HIGH,
        remediation="Remove from spec.securityContext.sysctls every sysctl outside the PSA safe set "
        f"({', '.join(sorted(SAFE_SYSCTLS))}).",
        check=sysctls,
        references=(nsa("Pod security"),),
    ),
    pss_policy(
        name="pss-baseline-windows-host-process",
        level=BASELINE,
        control="windowsHostProcess",
        description="Windows pods must not run as HostProcess containers.",
        severity=Severity.CRITICAL,
        remediation="Remove securityContext.windowsOptions.hostProcess or set it to false (pod and containers).",
        check=windows_host_process,
        references=(cis("5.2.11"), nsa("Pod security")),
    ),
]
