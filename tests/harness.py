"""Runs the real `__main__.py` with a real stack file under Pulumi mocks and records what it registers."""

from __future__ import annotations

import asyncio
import json
import runpy
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "phoenix"

# Stand-ins for the values `pulumi config set --secret` holds in a real stack.
TEST_SECRET_VALUES = {
    "secretsMasterKey": "test-master-key-0123456789abcdef",
    "memoryStoreApiKey": "test-memory-api-key-fedcba9876543210",
    # The alerting receivers' credentials (phoenix:monitoring.alerting).
    "alertSlackWebhookUrl": "https://hooks.slack.com/services/T0TEST/B0TEST/test-slack-webhook-0123",
    "alertPagerDutyRoutingKey": "test-pagerduty-routing-key-0123456789ab",
    "alertSmtpPassword": "test-smtp-password-9876543210",
}


@dataclass
class RegisteredResource:
    type_: str
    name: str
    props: dict[str, Any]
    custom: bool
    parent: str
    # Dotted property paths whose values the program marked as Pulumi secrets.
    secret_paths: set[str] = field(default_factory=set)

    @property
    def metadata_name(self) -> str | None:
        return (self.props.get("metadata") or {}).get("name")


@dataclass
class ProgramRun:
    resources: list[RegisteredResource]
    error: BaseException | None
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [resource for resource in self.resources if resource.type_ == type_]

    def one(self, type_: str, metadata_name: str) -> RegisteredResource:
        matches = [r for r in self.of_type(type_) if r.metadata_name == metadata_name]
        assert len(matches) == 1, f"expected one {type_} named {metadata_name}, found {len(matches)}"
        return matches[0]


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` of Pulumi.<stack>.yaml, keys without the project prefix."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    prefix = f"{PROJECT}:"
    return {key.removeprefix(prefix): value for key, value in document["config"].items()}


_SECRET_SIG = rpc._special_secret_sig  # the marker Pulumi puts on secret values on the wire


def _secret_paths(value: Any, path: str = "") -> set[str]:
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == _SECRET_SIG:
            return {path}
        return set().union(*(_secret_paths(v, f"{path}.{k}" if path else k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_secret_paths(v, f"{path}[{i}]") for i, v in enumerate(value)))
    return set()


def _without_secret_markers(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == _SECRET_SIG:
            return _without_secret_markers(value["value"])
        return {k: _without_secret_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secret_markers(v) for v in value]
    return value


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, recorder: _RecordingMocks) -> None:
        super().__init__(recorder)
        self.recorder = recorder

    def RegisterResource(self, request: Any) -> Any:
        # Registrations run on several threads at once; each one's new_resource runs on its
        # own thread, so what it records of its request is kept per thread.
        self.recorder.pending.secret_paths = _secret_paths(json_format.MessageToDict(request.object))
        self.recorder.pending.parent = request.parent
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


class _RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[RegisteredResource] = []
        self.pending = threading.local()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.resources.append(
            RegisteredResource(
                type_=args.typ,
                name=args.name,
                props=_without_secret_markers(dict(args.inputs)),
                custom=bool(args.custom),
                parent=getattr(self.pending, "parent", ""),
                secret_paths=getattr(self.pending, "secret_paths", set()),
            )
        )
        outputs = dict(args.inputs)
        if args.typ.startswith("docker-build:"):
            outputs["ref"] = f"{args.inputs['tags'][0]}@sha256:{'ab' * 32}"
        return (f"{args.name}-id" if args.custom else None), outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_program(
    stack: str,
    config: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    program: Path = ROOT / "__main__.py",
    project: str = PROJECT,
) -> ProgramRun:
    """Runs `program` as stack `stack` with `config` (default: the stack file's) and `secrets` as secret keys."""
    values = stack_config(stack) if config is None else config
    secret_values = dict(TEST_SECRET_VALUES) if secrets is None else secrets
    engine_config = {f"{project}:{key}": _engine_value(value) for key, value in values.items()}
    engine_config.update({f"{project}:{key}": value for key, value in secret_values.items()})
    pulumi.runtime.set_all_config(engine_config, [f"{project}:{key}" for key in secret_values])

    recorder = _RecordingMocks()
    monitor = _RecordingMonitor(recorder)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(recorder, project=project, stack=stack, preview=False, monitor=monitor)
    error: BaseException | None = None
    outputs: dict[str, Any] = {}
    try:
        loop.run_until_complete(run_pulumi_func(lambda: _run_main(program)))
        outputs = loop.run_until_complete(_stack_outputs())
    except Exception as raised:  # noqa: BLE001 - the test inspects it
        error = raised
    finally:
        loop.close()
    return ProgramRun(resources=recorder.resources, error=error, outputs=outputs)


def _run_main(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


async def _stack_outputs() -> dict[str, Any]:
    root = get_root_resource()
    exported = getattr(root, "outputs", {}) if root is not None else {}
    return {key: await pulumi.Output.from_input(value).future() for key, value in exported.items()}


def _engine_value(value: Any) -> str:
    """Config as the engine passes it: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
