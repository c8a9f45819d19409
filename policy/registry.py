"""The importable list of every policy in the pack. Importing it starts nothing."""

from __future__ import annotations

from policy.model import Policy
from policy.pod_security.baseline import BASELINE_POLICIES
from policy.pod_security.restricted import RESTRICTED_POLICIES

ALL_POLICIES: list[Policy] = [
    *BASELINE_POLICIES,
    *RESTRICTED_POLICIES,
]

POLICIES_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in ALL_POLICIES}
