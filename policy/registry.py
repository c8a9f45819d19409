"""The importable list of every policy in the pack. Importing it starts nothing."""

from __future__ import annotations

from policy.availability import AVAILABILITY_POLICIES
from policy.images import IMAGE_POLICIES
from policy.model import Policy
from policy.namespaces import NAMESPACE_POLICIES
from policy.network import NETWORK_POLICIES
from policy.pod_security.baseline import BASELINE_POLICIES
from policy.pod_security.restricted import RESTRICTED_POLICIES
from policy.rbac import RBAC_POLICIES
from policy.secrets import SECRETS_POLICIES
from policy.storage import STORAGE_POLICIES
from policy.workload import WORKLOAD_POLICIES

ALL_POLICIES: list[Policy] = [
    *BASELINE_POLICIES,
    *RESTRICTED_POLICIES,
    *WORKLOAD_POLICIES,
    *IMAGE_POLICIES,
    *RBAC_POLICIES,
    *NETWORK_POLICIES,
    *NAMESPACE_POLICIES,
    *STORAGE_POLICIES,
    *AVAILABILITY_POLICIES,
    *SECRETS_POLICIES,
]

POLICIES_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in ALL_POLICIES}
assert len(POLICIES_BY_NAME) == len(ALL_POLICIES), "policy names must be unique"
