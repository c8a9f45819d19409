"""Environment profiles: the defaults that differ between dev and prod.

They follow the security guide: prod reserves more (requests closer to
limits), probes more often (15 s against 30 s), rolls out without losing
capacity, keeps at least two replicas behind a PodDisruptionBudget, spreads
them across nodes and zones, and retains volumes when their claim is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Environment = Literal["dev", "prod"]


@dataclass(frozen=True)
class EnvironmentProfile:
    name: Environment
    # A request left out of config is this share of its limit.
    request_to_limit_ratio: Decimal
    default_min_replicas: int
    min_replicas_floor: int
    pod_disruption_budget: bool
    probe_period_seconds: int
    rollout_max_unavailable: int
    rollout_max_surge: int
    progress_deadline_seconds: int
    revision_history_limit: int
    topology_spread: bool
    reclaim_policy: Literal["Delete", "Retain"]
    retain_volumes_on_delete: bool
    # Images must be pinned by digest (a tag can be moved under a running stack).
    require_image_digest: bool


PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        name="dev",
        request_to_limit_ratio=Decimal("0.5"),
        default_min_replicas=1,
        min_replicas_floor=1,
        pod_disruption_budget=False,
        probe_period_seconds=30,
        rollout_max_unavailable=1,
        rollout_max_surge=1,
        progress_deadline_seconds=600,
        revision_history_limit=3,
        topology_spread=False,
        reclaim_policy="Delete",
        retain_volumes_on_delete=False,
        require_image_digest=False,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        request_to_limit_ratio=Decimal("0.8"),
        default_min_replicas=2,
        min_replicas_floor=2,
        pod_disruption_budget=True,
        probe_period_seconds=15,
        rollout_max_unavailable=0,
        rollout_max_surge=1,
        progress_deadline_seconds=300,
        revision_history_limit=10,
        topology_spread=True,
        reclaim_policy="Retain",
        retain_volumes_on_delete=True,
        require_image_digest=True,
    ),
}
