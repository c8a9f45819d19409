"""RBAC: least privilege for Roles, ClusterRoles and their bindings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from policy.fields import field, mappings, strings
from policy.model import PolicyConfig, Resource, ResourcePolicy, cis, kube, nsa

ROLES = kube("Role", "ClusterRole")
BINDINGS = kube("RoleBinding", "ClusterRoleBinding")
ESCALATION_VERBS = ("escalate", "bind", "impersonate")
READ_VERBS = frozenset({"get", "list", "watch", "*"})


def _rules(resource: Resource) -> Iterator[tuple[int, Mapping[str, Any]]]:
    yield from enumerate(mappings(resource.props.get("rules")))


def no_wildcards(resource: Resource, _config: PolicyConfig) -> list[str]:
    messages = []
    for index, rule in _rules(resource):
        wild = [name for name in ("verbs", "resources", "apiGroups") if "*" in strings(rule.get(name))]
        if wild:
            messages.append(f'rules[{index}] uses "*" in {", ".join(wild)}')
    return messages


def no_escalation_verbs(resource: Resource, _config: PolicyConfig) -> list[str]:
    messages = []
    for index, rule in _rules(resource):
        verbs = [verb for verb in ESCALATION_VERBS if verb in strings(rule.get("verbs"))]
        if verbs:
            messages.append(f"rules[{index}] grants {', '.join(verbs)}")
    return messages


def no_cluster_wide_secret_read(resource: Resource, _config: PolicyConfig) -> list[str]:
    messages = []
    for index, rule in _rules(resource):
        groups, resources, verbs = (set(strings(rule.get(name))) for name in ("apiGroups", "resources", "verbs"))
        if groups & {"", "*"} and resources & {"secrets", "*"} and verbs & READ_VERBS:
            messages.append(f"rules[{index}] lets {', '.join(sorted(verbs & READ_VERBS))} read Secrets in every namespace")
    return messages


def no_cluster_admin_binding(resource: Resource, _config: PolicyConfig) -> list[str]:
    if field(resource.props, "roleRef", "kind") == "ClusterRole" and field(resource.props, "roleRef", "name") == "cluster-admin":
        return ["binds the cluster-admin ClusterRole"]
    return []


ANONYMOUS_SUBJECTS = {("User", "system:anonymous"), ("Group", "system:unauthenticated"), ("Group", "system:anonymous")}


def _forbidden_subject(subject: Mapping[str, Any]) -> str | None:
    kind, name = subject.get("kind"), subject.get("name")
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    if (kind, name) in ANONYMOUS_SUBJECTS:
        return f"{kind} {name}"
    if kind == "ServiceAccount" and name == "default":
        return f"the default ServiceAccount of namespace {subject.get('namespace') or '(binding namespace)'}"
    if kind == "User" and isinstance(name, str) and name.startswith("system:serviceaccount:") and name.endswith(":default"):
        return f"User {name} (a default ServiceAccount)"
    return None


def no_anonymous_or_default_subjects(resource: Resource, _config: PolicyConfig) -> list[str]:
    bad = [reason for subject in mappings(resource.props.get("subjects")) if (reason := _forbidden_subject(subject))]
    return [f"binds {subject}" for subject in bad]


def cluster_scoped_rbac_allowed(resource: Resource, config: PolicyConfig) -> list[str]:
    allowed_key = "allowedClusterRoles" if resource.kind == "ClusterRole" else "allowedClusterRoleBindings"
    if resource.declared_name in strings(config.get(allowed_key)):
        return []
    return [f"{resource.kind} {resource.name} is cluster-scoped and not listed in {allowed_key}"]


RBAC_POLICIES = [
    ResourcePolicy(
        name="rbac-no-wildcards",
        description="RBAC rules must not use wildcard verbs, resources or API groups.",
        severity=Severity.HIGH,
        remediation='List the exact verbs, resources and apiGroups the subject needs instead of "*".',
        frameworks=(cis("5.1.3"), nsa("Authentication and authorization")),
        applies_to=ROLES,
        check=no_wildcards,
    ),
    ResourcePolicy(
        name="rbac-no-escalation-verbs",
        description="RBAC rules must not grant escalate, bind or impersonate.",
        severity=Severity.CRITICAL,
        remediation="Remove escalate, bind and impersonate from rules[*].verbs.",
        frameworks=(cis("5.1.8"), nsa("Authentication and authorization")),
        applies_to=ROLES,
        check=no_escalation_verbs,
    ),
    ResourcePolicy(
        name="rbac-no-cluster-wide-secret-read",
        description="ClusterRoles must not grant reading Secrets across the cluster.",
        severity=Severity.HIGH,
        remediation="Grant get/list/watch on secrets in a namespaced Role (ideally with resourceNames) instead of a ClusterRole.",
        frameworks=(cis("5.1.2"), nsa("Authentication and authorization")),
        applies_to=kube("ClusterRole"),
        check=no_cluster_wide_secret_read,
    ),
    ResourcePolicy(
        name="rbac-no-cluster-admin-binding",
        description="Nothing may be bound to the cluster-admin ClusterRole.",
        severity=Severity.CRITICAL,
        remediation="Bind a narrowly scoped Role (roleRef) with only the permissions needed instead of cluster-admin.",
        frameworks=(cis("5.1.1"), nsa("Authentication and authorization")),
        applies_to=BINDINGS,
        check=no_cluster_admin_binding,
    ),
    ResourcePolicy(
        name="rbac-no-anonymous-or-default-subjects",
        description="Bindings must not grant to system:anonymous, system:unauthenticated or default ServiceAccounts.",
        severity=Severity.HIGH,
        remediation="Bind a dedicated ServiceAccount (or named users/groups) in subjects instead.",
        frameworks=(cis("5.1.5"), nsa("Authentication and authorization")),
        applies_to=BINDINGS,
        check=no_anonymous_or_default_subjects,
    ),
    ResourcePolicy(
        name="rbac-cluster-scoped-forbidden",
        description="ClusterRoles and ClusterRoleBindings are forbidden unless allowed by config.",
        severity=Severity.HIGH,
        remediation="Use a namespaced Role and RoleBinding, or add the name to allowedClusterRoles / allowedClusterRoleBindings.",
        frameworks=(nsa("Authentication and authorization"),),
        config_properties={
            "allowedClusterRoles": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "ClusterRole names the program may create.",
            },
            "allowedClusterRoleBindings": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "ClusterRoleBinding names the program may create.",
            },
        },
        applies_to=kube("ClusterRole", "ClusterRoleBinding"),
        check=cluster_scoped_rbac_allowed,
    ),
]
