"""The real program with the real dev and prod stack files, under mocks: every hardening property, per stack."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from harness import ProgramRun, run_program, stack_config

STACKS = ["dev", "prod"]
COMPONENT_TYPES = {
    "phoenix:platform:Platform",
    "phoenix:platform:Namespace",
    "phoenix:platform:Network",
    "phoenix:platform:Storage",
    "phoenix:platform:Image",
    "phoenix:platform:Rbac",
    "phoenix:platform:Secrets",
    "phoenix:platform:Workload",
    "phoenix:platform:Monitoring",
}
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@cache
def run(stack: str) -> ProgramRun:
    result = run_program(stack)
    assert result.error is None, result.error
    return result


def services(stack: str) -> list[dict[str, Any]]:
    return list(stack_config(stack)["services"])


def namespace_of(stack: str) -> str:
    return str(stack_config(stack)["namespace"])


def pod_spec(stack: str, service: str) -> dict[str, Any]:
    spec: dict[str, Any] = run(stack).one("kubernetes:apps/v1:Deployment", service).props["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("stack", STACKS)
def test_components_have_their_own_type_tokens_and_parent_their_children(stack: str) -> None:
    result = run(stack)
    components = {r.type_ for r in result.resources if not r.custom}
    assert components == COMPONENT_TYPES
    for resource in result.resources:
        if resource.custom:
            assert "phoenix:platform:" in resource.parent, f"{resource.type_} {resource.name} is not inside a component"


@pytest.mark.parametrize("stack", STACKS)
def test_namespace_enforces_restricted_pod_security_with_pinned_versions(stack: str) -> None:
    labels = run(stack).one("kubernetes:core/v1:Namespace", namespace_of(stack)).props["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert re.fullmatch(r"v1\.\d+", labels[f"pod-security.kubernetes.io/{mode}-version"])


@pytest.mark.parametrize("stack", STACKS)
def test_quota_bounds_compute_storage_and_forbids_external_services(stack: str) -> None:
    hard = run(stack).one("kubernetes:core/v1:ResourceQuota", "phoenix-quota").props["spec"]["hard"]
    for key in (
        "requests.cpu",
        "requests.memory",
        "limits.cpu",
        "limits.memory",
        "pods",
        "persistentvolumeclaims",
        "requests.storage",
    ):
        assert key in hard
    assert hard["services.loadbalancers"] == "0"
    assert hard["services.nodeports"] == "0"
    assert int(hard["pods"]) >= sum(s["autoscaling"]["maxReplicas"] for s in services(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_limit_range_sets_defaults_and_maximums(stack: str) -> None:
    limits = run(stack).one("kubernetes:core/v1:LimitRange", "phoenix-limits").props["spec"]["limits"]
    container = next(item for item in limits if item["type"] == "Container")
    assert {"cpu", "memory"} <= set(container["default"]) and {"cpu", "memory"} <= set(container["defaultRequest"])
    assert {"cpu", "memory"} <= set(container["max"]) and {"cpu", "memory"} <= set(container["min"])
    assert any(item["type"] == "PersistentVolumeClaim" for item in limits)


@pytest.mark.parametrize("stack", STACKS)
def test_default_deny_covers_all_pods_both_directions(stack: str) -> None:
    spec = run(stack).one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny").props["spec"]
    assert spec["podSelector"] == {}
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    assert not spec.get("ingress") and not spec.get("egress")


@pytest.mark.parametrize("stack", STACKS)
def test_dns_egress_only_to_cluster_dns(stack: str) -> None:
    spec = run(stack).one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-dns-egress").props["spec"]
    assert spec["policyTypes"] == ["Egress"]
    (rule,) = spec["egress"]
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert sorted((p["port"], p["protocol"]) for p in rule["ports"]) == [(53, "TCP"), (53, "UDP")]


@pytest.mark.parametrize("stack", STACKS)
def test_each_declared_call_opens_egress_on_caller_and_ingress_on_callee_port_only(stack: str) -> None:
    result = run(stack)
    declared = services(stack)
    ports = {s["name"]: s["port"] for s in declared}
    for service in declared:
        spec = result.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"allow-{service['name']}").props["spec"]
        assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": service["name"]}
        pod_egress = [rule for rule in spec.get("egress", []) if "podSelector" in rule["to"][0]]
        assert sorted(
            (rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], rule["ports"][0]["port"])
            for rule in pod_egress
        ) == sorted((callee, ports[callee]) for callee in service.get("calls", []))
        callers = sorted(s["name"] for s in declared if service["name"] in s.get("calls", []))
        pod_ingress = [rule for rule in spec.get("ingress", []) if "podSelector" in rule["from"][0]]
        assert sorted(rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for rule in pod_ingress) == callers
        for rule in spec.get("ingress", []):
            assert [p["port"] for p in rule["ports"]] == [service["port"]]


@pytest.mark.parametrize("stack", STACKS)
def test_only_exposed_services_accept_the_ingress_controller_namespace(stack: str) -> None:
    result = run(stack)
    for service in services(stack):
        spec = result.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"allow-{service['name']}").props["spec"]
        from_controller = [rule for rule in spec.get("ingress", []) if "namespaceSelector" in rule["from"][0]]
        if service.get("exposed"):
            (rule,) = from_controller
            assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
        else:
            assert from_controller == []


@pytest.mark.parametrize("stack", STACKS)
def test_service_accounts_do_not_automount_and_rbac_is_namespaced_and_exact(stack: str) -> None:
    result = run(stack)
    assert result.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") == []
    assert result.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") == []
    for service in services(stack):
        account = result.one("kubernetes:core/v1:ServiceAccount", service["name"])
        assert account.props["automountServiceAccountToken"] is False
        roles = [r for r in result.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role") if r.metadata_name == service["name"]]
        if not service.get("kubernetesApi"):
            assert roles == []
            assert pod_spec(stack, service["name"])["automountServiceAccountToken"] is False
            continue
        (role,) = roles
        for rule in role.props["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field]
        assert [rule["verbs"] for rule in role.props["rules"]] == [r["verbs"] for r in service["kubernetesApi"]]
        binding = result.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", service["name"])
        assert binding.props["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service["name"]}
        assert binding.props["subjects"] == [
            {"kind": "ServiceAccount", "name": service["name"], "namespace": namespace_of(stack)}
        ]


@pytest.mark.parametrize("stack", STACKS)
def test_storage_class_encrypts_expands_and_retains_in_prod(stack: str) -> None:
    (storage_class,) = run(stack).of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    props = storage_class.props
    assert props["parameters"]["encrypted"] == "true"
    assert props["allowVolumeExpansion"] is True
    assert props["reclaimPolicy"] == ("Retain" if stack == "prod" else "Delete")


@pytest.mark.parametrize("stack", STACKS)
def test_each_stateful_service_gets_its_own_claim_on_the_encrypted_class(stack: str) -> None:
    result = run(stack)
    (storage_class,) = result.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    stateful = [s for s in services(stack) if s.get("storage")]
    assert stateful, "the stack should ship a stateful service"
    claims = result.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert sorted(c.metadata_name or "" for c in claims) == sorted(f"{s['name']}-data" for s in stateful)
    for service in stateful:
        claim = result.one("kubernetes:core/v1:PersistentVolumeClaim", f"{service['name']}-data")
        assert claim.props["spec"]["storageClassName"] == storage_class.metadata_name
        assert claim.props["spec"]["resources"]["requests"]["storage"] == service["storage"]["size"]
        volumes = {v["name"]: v for v in pod_spec(stack, service["name"])["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == f"{service['name']}-data"
        assert pod_spec(stack, service["name"]).get("initContainers") is None


@pytest.mark.parametrize("stack", STACKS)
def test_pods_pass_restricted_pod_security(stack: str) -> None:
    for service in services(stack):
        spec = pod_spec(stack, service["name"])
        pod_context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True
        assert pod_context["runAsUser"] > 0 and pod_context["runAsGroup"] > 0 and pod_context["fsGroup"] > 0
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(field)
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert not context.get("privileged")
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= {"secret", "persistentVolumeClaim", "emptyDir", "configMap", "projected"}


@pytest.mark.parametrize("stack", STACKS)
def test_containers_have_requests_limits_and_all_three_probes(stack: str) -> None:
    period = 15 if stack == "prod" else 30
    for service in services(stack):
        (container,) = pod_spec(stack, service["name"])["containers"]
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        assert resources["limits"] == service["resources"]["limits"]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["periodSeconds"] == period
            assert container[probe]["httpGet"]["port"] == "http"


def test_prod_reserves_more_of_its_limits_than_dev() -> None:
    from components.quantity import parse_quantity

    def reserved_share(stack: str) -> float:
        (container,) = pod_spec(stack, "secrets")["containers"]
        resources = container["resources"]
        return float(parse_quantity(resources["requests"]["memory"]) / parse_quantity(resources["limits"]["memory"]))

    assert reserved_share("prod") > reserved_share("dev")
    assert reserved_share("prod") >= 0.8


@pytest.mark.parametrize("stack", STACKS)
def test_writable_scratch_only_where_declared(stack: str) -> None:
    for service in services(stack):
        volumes = {v["name"]: v for v in pod_spec(stack, service["name"]).get("volumes", [])}
        if service.get("scratch"):
            assert volumes["scratch"]["emptyDir"]["sizeLimit"] == service["scratch"]["sizeLimit"]
        else:
            assert "scratch" not in volumes


@pytest.mark.parametrize("stack", STACKS)
def test_rollout_strategy_history_and_spread_follow_the_profile(stack: str) -> None:
    for service in services(stack):
        spec = run(stack).one("kubernetes:apps/v1:Deployment", service["name"]).props["spec"]
        assert "replicas" not in spec, "the HPA owns the replica count"
        assert spec["revisionHistoryLimit"] >= 3
        rolling = spec["strategy"]["rollingUpdate"]
        if stack == "prod":
            assert rolling["maxUnavailable"] == 0 and spec["progressDeadlineSeconds"] <= 600
            assert {c["topologyKey"] for c in spec["template"]["spec"]["topologySpreadConstraints"]} == {
                "topology.kubernetes.io/zone",
                "kubernetes.io/hostname",
            }
        else:
            assert "topologySpreadConstraints" not in spec["template"]["spec"]


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_use_digest_pinned_images(stack: str) -> None:
    for service in services(stack):
        (container,) = pod_spec(stack, service["name"])["containers"]
        assert DIGEST.search(container["image"]), container["image"]


@pytest.mark.parametrize("stack", STACKS)
def test_cluster_ip_service_per_workload(stack: str) -> None:
    for service in services(stack):
        spec = run(stack).one("kubernetes:core/v1:Service", service["name"]).props["spec"]
        assert spec["type"] == "ClusterIP"
        assert spec["selector"] == {"app.kubernetes.io/name": service["name"]}


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaler_bounds_scale_up_and_stabilises_scale_down(stack: str) -> None:
    for service in services(stack):
        spec = run(stack).one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", service["name"]).props["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service["name"]}
        assert spec["minReplicas"] >= (2 if stack == "prod" else 1)
        assert spec["maxReplicas"] == service["autoscaling"]["maxReplicas"]
        assert {m["resource"]["name"] for m in spec["metrics"]} == {"cpu", "memory"}
        assert spec["behavior"]["scaleUp"]["policies"], "scale-up must be bounded"
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60


@pytest.mark.parametrize("stack", STACKS)
def test_disruption_budget_in_prod_only_and_never_blocking(stack: str) -> None:
    budgets = run(stack).of_type("kubernetes:policy/v1:PodDisruptionBudget")
    if stack == "dev":
        assert budgets == []
        return
    assert sorted(b.metadata_name or "" for b in budgets) == sorted(s["name"] for s in services(stack))
    for budget in budgets:
        assert budget.props["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_exposed_services_get_a_tls_ingress(stack: str) -> None:
    ingresses = run(stack).of_type("kubernetes:networking.k8s.io/v1:Ingress")
    exposed = [s["name"] for s in services(stack) if s.get("exposed")]
    assert sorted(i.metadata_name or "" for i in ingresses) == sorted(exposed)
    for ingress in ingresses:
        (tls,) = ingress.props["spec"]["tls"]
        assert tls["secretName"] and tls["hosts"] == [ingress.props["spec"]["rules"][0]["host"]]


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_pulumi_secrets_mounted_read_only_as_files(stack: str) -> None:
    result = run(stack)
    for service in services(stack):
        spec = pod_spec(stack, service["name"])
        (container,) = spec["containers"]
        env_values = " ".join(str(e.get("value", "")) for e in container.get("env", []))
        if not service.get("secrets"):
            assert "secrets" not in {v["name"] for v in spec.get("volumes", [])}
            continue
        secret = result.one("kubernetes:core/v1:Secret", f"{service['name']}-secrets")
        assert secret.secret_paths == {"stringData"}, "every value must be a Pulumi secret"
        assert sorted(secret.props["stringData"]) == sorted(service["secrets"])
        mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
        assert mount["readOnly"] is True
        for env in container.get("env", []):
            assert "valueFrom" not in env, "secrets are files, not environment variables"
        for value in secret.props["stringData"].values():
            assert value not in env_values


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_reaches_an_output_or_plain_property(stack: str) -> None:
    from harness import TEST_SECRET_VALUES

    result = run(stack)
    outputs = repr(result.outputs)
    for value in TEST_SECRET_VALUES.values():
        assert value not in outputs
        for resource in result.resources:
            if resource.type_ != "kubernetes:core/v1:Secret":
                assert value not in repr(resource.props)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_name_namespace_images_dns_and_claims(stack: str) -> None:
    outputs = run(stack).outputs
    assert outputs["namespace"] == namespace_of(stack)
    for service in services(stack):
        exported = outputs["services"][service["name"]]
        assert DIGEST.search(exported["image"])
        assert exported["dnsName"] == f"{service['name']}.{namespace_of(stack)}.svc.cluster.local"
        assert ("claim" in exported) == bool(service.get("storage"))


def test_image_builds_push_by_immutable_tag_and_workloads_use_the_digest() -> None:
    config = stack_config("prod")
    config["buildImages"] = True
    result = run_program("prod", config=config)
    assert result.error is None, result.error
    (image,) = result.of_type("docker-build:index:Image")
    assert image.props["push"] is True
    assert image.props["tags"] == ["ghcr.io/phoenix-orch/orchestrator:1.4.2"]
    assert not image.props.get("buildArgs")
    (container,) = result.one("kubernetes:apps/v1:Deployment", "orchestrator").props["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/phoenix-orch/orchestrator:1.4.2@sha256:{'ab' * 32}"
