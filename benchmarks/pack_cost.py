"""What the policy pack itself costs the engine, in-process: the SDK's analyzer servicer (what
``pulumi preview --policy-pack`` talks to over gRPC) analysing the prod stack's resources, sent
as the engine sends them (protobuf Structs, secrets wrapped, prod config).

    python -m benchmarks.pack_cost [--sdk-as-is]    prints JSON (CPU seconds)

``--sdk-as-is`` leaves out ``convert_properties_once`` (the SDK converting a resource's
properties for every policy), for before/after figures.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from benchmarks.common import ROOT


def worker() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "policy")]
    import pulumi_policy.policy as sdk_policy
    from google.protobuf import struct_pb2
    from harness import run_program
    from policy_testkit import _rewrap_secrets
    from pulumi.runtime import proto
    from pulumi_policy import EnforcementLevel

    from policy.pack import PACK_NAME, convert_properties_once, crossguard_policies, preserve_secretness
    from policy.registry import ALL_POLICIES

    def struct(value: dict[str, Any]) -> Any:
        message = struct_pb2.Struct()
        message.update(value)
        return message

    preserve_secretness()  # what policy.pack.serve() does before it serves
    if "--sdk-as-is" not in sys.argv:
        convert_properties_once()
    servicer = sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "0.1.0", crossguard_policies(), EnforcementLevel.MANDATORY)
    config = json.loads((ROOT / "policy" / "config" / "prod.json").read_text())
    levels = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED, "remediate": proto.REMEDIATE}
    configure = proto.ConfigureAnalyzerRequest()
    for policy in ALL_POLICIES:
        block = config.get(policy.name, {})
        block = {"enforcementLevel": block} if isinstance(block, str) else dict(block)
        level = block.pop("enforcementLevel", config.get("all", "mandatory"))
        configure.policyConfig[policy.name].CopyFrom(proto.PolicyConfig(enforcementLevel=levels[level], properties=struct(block)))
    servicer.Configure(configure, None)
    analyzed = servicer.Analyze(
        proto.AnalyzeRequest(type="kubernetes:core/v1:Pod", name="p", urn="urn:p", properties=struct({})), None
    )
    if not analyzed.diagnostics:
        raise SystemExit("the pack reported nothing for an empty Pod: is it configured?")

    program = run_program("prod")
    if program.error is not None:
        raise SystemExit(f"the prod program failed under mocks: {program.error}")
    requests = [
        proto.AnalyzeRequest(
            type=r.type_,
            name=r.name,
            urn=f"urn:pulumi:prod::phoenix::{r.type_}::{r.name}",
            properties=struct(_rewrap_secrets(r.props, set(r.secret_paths))),
        )
        for r in program.resources
        if r.custom
    ]
    rounds = 5
    started = time.process_time()
    for _ in range(rounds):
        for request in requests:
            servicer.Analyze(request, None)
    analyze = (time.process_time() - started) / rounds / len(requests)
    stack = proto.AnalyzeStackRequest(
        resources=[proto.AnalyzerResource(type=q.type, name=q.name, urn=q.urn, properties=q.properties) for q in requests]
    )
    started = time.process_time()
    for _ in range(rounds):
        servicer.AnalyzeStack(stack, None)
    analyze_stack = (time.process_time() - started) / rounds
    print(json.dumps({"resources": len(requests), "analyze_seconds": analyze, "analyze_stack_seconds": analyze_stack}))


if __name__ == "__main__":
    worker()
