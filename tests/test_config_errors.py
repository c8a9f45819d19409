"""Bad config fails with one clear message (stack, field path, bad value, what is allowed) and registers nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from harness import TEST_SECRET_VALUES, run_program, stack_config

Config = dict[str, Any]


def edit(stack: str, change: Callable[[Config], None]) -> Config:
    config = copy.deepcopy(stack_config(stack))
    change(config)
    return config


def service(config: Config, name: str) -> dict[str, Any]:
    return next(s for s in config["services"] if s["name"] == name)


# (case id, stack, change, the fragments the message must contain)
CASES: list[tuple[str, str, Callable[[Config], None], list[str]]] = [
    (
        "unknown top-level field",
        "dev",
        lambda c: c.update(replicaCount=3),
        ["phoenix:replicaCount", "not a known field", "services"],
    ),
    (
        "unknown service field",
        "dev",
        lambda c: service(c, "secrets").update(prot=8443),
        ["phoenix:services[1].prot", "not a known field", "port"],
    ),
    (
        "zero replicas",
        "dev",
        lambda c: service(c, "memory")["autoscaling"].update(minReplicas=0),
        ["phoenix:services[2].autoscaling.minReplicas", "0", "greater than or equal to 1"],
    ),
    (
        "negative replicas",
        "dev",
        lambda c: service(c, "memory")["autoscaling"].update(maxReplicas=-2),
        ["phoenix:services[2].autoscaling.maxReplicas", "-2", "greater than or equal to 1"],
    ),
    (
        "max below min",
        "prod",
        lambda c: service(c, "secrets")["autoscaling"].update(minReplicas=3, maxReplicas=2),
        ["phoenix:services[1].autoscaling.maxReplicas", "= 2", "at least minReplicas (3)"],
    ),
    (
        "prod below its replica floor",
        "prod",
        lambda c: service(c, "secrets")["autoscaling"].update(minReplicas=1),
        ["phoenix:services[1].autoscaling.minReplicas", "= 1", "at least 2 replicas in prod"],
    ),
    (
        "limit below request",
        "dev",
        lambda c: service(c, "secrets")["resources"].update(requests={"cpu": "500m", "memory": "64Mi"}),
        ["phoenix:services[1].resources.requests.cpu", "'500m'", "no larger than its limit (250m)"],
    ),
    (
        "malformed quantity: lots",
        "dev",
        lambda c: service(c, "orchestrator")["resources"]["limits"].update(memory="lots"),
        ["phoenix:services[0].resources.limits.memory", "'lots'", 'Kubernetes quantity such as "250m"'],
    ),
    (
        "malformed quantity: 12XB",
        "prod",
        lambda c: service(c, "memory")["storage"].update(size="12XB"),
        ["phoenix:services[2].storage.size", "'12XB'", "Kubernetes quantity"],
    ),
    (
        "unknown service in a call list",
        "dev",
        lambda c: service(c, "orchestrator")["calls"].append("vector-db"),
        ["phoenix:services[0].calls[2]", "'vector-db'", "another service (secrets, memory)"],
    ),
    (
        "duplicate service names",
        "dev",
        lambda c: service(c, "memory").update(name="secrets"),
        ["phoenix:services[2].name", "'secrets'", "a name no other service has"],
    ),
    (
        "latest tag in prod",
        "prod",
        lambda c: service(c, "secrets").update(image="ghcr.io/phoenix-orch/secrets:latest"),
        ["phoenix:services[1].image", "'ghcr.io/phoenix-orch/secrets:latest'", "pinned by digest", "'latest'"],
    ),
    (
        "no tag in prod",
        "prod",
        lambda c: service(c, "secrets").update(image="ghcr.io/phoenix-orch/secrets"),
        ["phoenix:services[1].image", "pinned by digest", "'(none)'"],
    ),
    (
        "wrong environment",
        "dev",
        lambda c: c.update(environment="staging"),
        ["phoenix:environment", "'staging'", "'dev' or 'prod'"],
    ),
]


@pytest.mark.parametrize(("case", "stack", "change", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_fails_clearly_and_registers_nothing(
    case: str, stack: str, change: Callable[[Config], None], fragments: list[str]
) -> None:
    result = run_program(stack, config=edit(stack, change))
    assert result.error is not None, f"{case}: the program accepted bad config"
    message = str(result.error)
    assert f"stack {stack!r}" in message
    assert "nothing was deployed" in message
    for fragment in fragments:
        assert fragment in message, f"{case}: {fragment!r} missing from:\n{message}"
    assert result.resources == [], f"{case}: registered {[r.name for r in result.resources]}"


def test_secret_given_as_plain_config_is_refused_without_echoing_it() -> None:
    config = stack_config("dev")
    config["secretsMasterKey"] = "plain-text-master-key"
    secrets = {k: v for k, v in TEST_SECRET_VALUES.items() if k != "secretsMasterKey"}
    result = run_program("dev", config=config, secrets=secrets)
    assert result.error is not None
    message = str(result.error)
    assert "phoenix:secretsMasterKey is set as plain config" in message
    assert "pulumi config set --secret phoenix:secretsMasterKey" in message
    assert "plain-text-master-key" not in message
    assert result.resources == []


def test_missing_secret_names_the_key_to_set() -> None:
    secrets = {k: v for k, v in TEST_SECRET_VALUES.items() if k != "memoryStoreApiKey"}
    result = run_program("prod", secrets=secrets)
    assert result.error is not None
    assert "phoenix:services[2].secrets[0] = 'memoryStoreApiKey'" in str(result.error)
    assert result.resources == []


def test_every_problem_is_reported_in_the_one_message() -> None:
    def two_problems(config: Config) -> None:
        service(config, "secrets").update(port=0)
        service(config, "memory")["resources"]["limits"].update(cpu="lots")

    result = run_program("dev", config=edit("dev", two_problems))
    message = str(result.error)
    assert "phoenix:services[1].port" in message and "phoenix:services[2].resources.limits.cpu" in message
