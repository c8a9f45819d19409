"""PSS controls beyond the PSA corpus: every pod-bearing kind, ephemeral containers, precedence,
and the runtime proxy (unknown values are never treated as compliant)."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import container, cron_job, deployment, pod_spec, with_security
from policy_testkit import pod, run
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UnknownValueError

from policy.model import PSS
from policy.pods import POD_BEARING_KINDS
from policy.registry import ALL_POLICIES

PSS_NAMES = [p.name for p in ALL_POLICIES if any(f.name == PSS for f in p.frameworks)]

# (policy, pod spec, violates?) — one compliant and at least one violating case per control.
CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("pss-baseline-host-namespaces", pod_spec(), False),
    ("pss-baseline-host-namespaces", pod_spec(hostPID=True), True),
    ("pss-baseline-privileged", pod_spec(), False),
    ("pss-baseline-privileged", pod_spec(ephemeralContainers=[with_security(container("debug"), privileged=True)]), True),
    (
        "pss-baseline-capabilities",
        pod_spec(containers=[with_security(container(), capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})]),
        False,
    ),
    ("pss-baseline-capabilities", pod_spec(containers=[with_security(container(), capabilities={"add": ["SYS_ADMIN"]})]), True),
    ("pss-baseline-host-path-volumes", pod_spec(volumes=[{"name": "tmp", "emptyDir": {}}]), False),
    ("pss-baseline-host-path-volumes", pod_spec(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), True),
    ("pss-baseline-host-ports", pod_spec(containers=[container(ports=[{"containerPort": 8080}])]), False),
    ("pss-baseline-host-ports", pod_spec(containers=[container(ports=[{"containerPort": 80, "hostPort": 80}])]), True),
    ("pss-baseline-host-probes-and-lifecycle", pod_spec(), False),
    (
        "pss-baseline-host-probes-and-lifecycle",
        pod_spec(containers=[container(lifecycle={"preStop": {"httpGet": {"host": "10.0.0.1", "port": 80}}})]),
        True,
    ),
    ("pss-baseline-apparmor", pod_spec(securityContext={"appArmorProfile": {"type": "RuntimeDefault"}}), False),
    ("pss-baseline-apparmor", pod_spec(containers=[with_security(container(), appArmorProfile={"type": "Unconfined"})]), True),
    (
        "pss-baseline-selinux",
        pod_spec(securityContext={"seLinuxOptions": {"type": "container_engine_t", "level": "s0:c1"}}),
        False,
    ),
    ("pss-baseline-selinux", pod_spec(containers=[with_security(container(), seLinuxOptions={"role": "sysadm_r"})]), True),
    ("pss-baseline-proc-mount", pod_spec(hostUsers=False, containers=[with_security(container(), procMount="Unmasked")]), False),
    ("pss-baseline-proc-mount", pod_spec(containers=[with_security(container(), procMount="Unmasked")]), True),
    ("pss-baseline-seccomp", pod_spec(), False),
    (
        "pss-baseline-seccomp",
        pod_spec(initContainers=[with_security(container("init"), seccompProfile={"type": "Unconfined"})]),
        True,
    ),
    (
        "pss-baseline-sysctls",
        pod_spec(securityContext={"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]}),
        False,
    ),
    ("pss-baseline-sysctls", pod_spec(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}), True),
    ("pss-baseline-windows-host-process", pod_spec(), False),
    ("pss-baseline-windows-host-process", pod_spec(securityContext={"windowsOptions": {"hostProcess": True}}), True),
    (
        "pss-restricted-volume-types",
        pod_spec(
            volumes=[
                {"name": "data", "persistentVolumeClaim": {"claimName": "d"}},
                {"name": "img", "image": {"reference": "ghcr.io/x/y:1"}},
            ]
        ),
        False,
    ),
    ("pss-restricted-volume-types", pod_spec(volumes=[{"name": "share", "nfs": {"server": "nfs", "path": "/"}}]), True),
    ("pss-restricted-privilege-escalation", pod_spec(), False),
    ("pss-restricted-privilege-escalation", pod_spec(ephemeralContainers=[container("debug", securityContext={})]), True),
    ("pss-restricted-run-as-non-root", pod_spec(), False),
    ("pss-restricted-run-as-non-root", pod_spec(securityContext={"seccompProfile": {"type": "RuntimeDefault"}}), True),
    ("pss-restricted-run-as-non-root", pod_spec(hostUsers=False, securityContext={}), False),
    ("pss-restricted-run-as-user", pod_spec(), False),
    ("pss-restricted-run-as-user", pod_spec(containers=[with_security(container(), runAsUser=0)]), True),
    (
        "pss-restricted-seccomp",
        pod_spec(
            securityContext={"runAsNonRoot": True},
            containers=[with_security(container(), seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})],
        ),
        False,
    ),
    ("pss-restricted-seccomp", pod_spec(securityContext={"runAsNonRoot": True}), True),
    ("pss-restricted-seccomp", pod_spec(os={"name": "windows"}, securityContext={"runAsNonRoot": True}), False),
    ("pss-restricted-capabilities", pod_spec(), False),
    ("pss-restricted-capabilities", pod_spec(containers=[with_security(container(), capabilities={"drop": ["all"]})]), True),
    ("pss-restricted-proc-mount", pod_spec(), False),
    ("pss-restricted-proc-mount", pod_spec(hostUsers=False, containers=[with_security(container(), procMount="Unmasked")]), True),
]


def test_every_pss_policy_has_a_compliant_and_a_violating_case() -> None:
    for name in PSS_NAMES:
        outcomes = {violates for policy, _, violates in CASES if policy == name}
        assert outcomes == {True, False}, name


@pytest.mark.parametrize(("policy", "spec", "violates"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_control(policy: str, spec: dict[str, Any], violates: bool) -> None:
    assert bool(run(policy, deployment(spec))) is violates


@pytest.mark.parametrize("kind", sorted(POD_BEARING_KINDS))
def test_every_pod_bearing_kind_is_checked(kind: str) -> None:
    bad = pod_spec(hostNetwork=True)
    manifests: dict[str, dict[str, Any]] = {
        "Pod": pod(bad),
        "CronJob": cron_job(bad),
    }
    api_versions = {
        "Deployment": "apps/v1",
        "StatefulSet": "apps/v1",
        "DaemonSet": "apps/v1",
        "ReplicaSet": "apps/v1",
        "ReplicationController": "v1",
        "Job": "batch/v1",
    }
    if kind in api_versions:
        manifest = deployment(bad)
        manifest["apiVersion"], manifest["kind"] = api_versions[kind], kind
        manifests[kind] = manifest
    assert run("pss-baseline-host-namespaces", manifests[kind])
    # And the same kind with a compliant pod passes.
    good = pod_spec()
    manifests_good = {"Pod": pod(good), "CronJob": cron_job(good)}
    if kind in api_versions:
        manifest = deployment(good)
        manifest["apiVersion"], manifest["kind"] = api_versions[kind], kind
        manifests_good[kind] = manifest
    assert not run("pss-baseline-host-namespaces", manifests_good[kind])


def test_apparmor_legacy_annotation_on_the_pod_template_is_read() -> None:
    manifest = deployment(annotations={"container.apparmor.security.beta.kubernetes.io/app": "unconfined"})
    assert run("pss-baseline-apparmor", manifest)
    manifest = deployment(annotations={"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"})
    assert not run("pss-baseline-apparmor", manifest)


def test_container_setting_overrides_pod_setting() -> None:
    # Pod-level runAsNonRoot=true does not excuse a container that sets false.
    spec = pod_spec(containers=[with_security(container(), runAsNonRoot=False)])
    assert run("pss-restricted-run-as-non-root", deployment(spec))
    # A valid container-level seccomp profile does not excuse an Unconfined pod-level one.
    spec = pod_spec(
        securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}},
        containers=[with_security(container(), seccompProfile={"type": "RuntimeDefault"})],
    )
    assert run("pss-restricted-seccomp", deployment(spec))


@pytest.mark.parametrize("policy", PSS_NAMES)
def test_unknown_value_is_never_compliant(policy: str) -> None:
    # During preview a field may be unknown; reading it must raise, not silently pass.
    unknown_everywhere = pod_spec(
        hostNetwork=UNKNOWN_BOOLEAN_VALUE,
        hostUsers=UNKNOWN_BOOLEAN_VALUE,
        os=UNKNOWN_BOOLEAN_VALUE,
        securityContext=UNKNOWN_BOOLEAN_VALUE,
        volumes=UNKNOWN_BOOLEAN_VALUE,
        containers=[
            container(
                securityContext=UNKNOWN_BOOLEAN_VALUE,
                ports=UNKNOWN_BOOLEAN_VALUE,
                livenessProbe=UNKNOWN_BOOLEAN_VALUE,
                lifecycle=UNKNOWN_BOOLEAN_VALUE,
            )
        ],
    )
    with pytest.raises(UnknownValueError):
        run(policy, deployment(unknown_everywhere))
