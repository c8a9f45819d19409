"""The preview report: what a stack's change would do and what the policy pack says, as Markdown.

Runs `scripts/stack.sh STACK preview --json` with the policy pack and the stack's policy config,
with Pulumi's streaming JSON (PULUMI_ENABLE_STREAMING_JSON_PREVIEW=1: one engine event per line,
the only JSON form of a preview that carries policy violations; the digest `--json` prints without
it has no policy events, and Pulumi 3.260 has no --event-log flag), and renders:

- the resources to create, update, replace and delete, with each changed property (before and
  after; secrets stay `[secret]`),
- the policy violations grouped by severity, each with its enforcement level and its fix,
- preview errors.

It exits 1 when a mandatory policy is violated or the preview fails, else 0. CI posts this very
Markdown on the pull request (.github/workflows/pull-request.yml), so what a person runs locally
and what the pull request shows are the same.

    scripts/preview-report.sh STACK [--out FILE] [--events-out FILE] [--events FILE] [-- PULUMI-ARGS...]

--events renders a recorded event stream instead of running a preview (tests use it);
--events-out keeps the stream of a run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # Pulumi's marker for a secret value
SIG_KEY = "4dabf18193072939515e22adb298388d"
SEVERITIES = ("critical", "high", "medium", "low", "unspecified")
ENFORCEMENT = {"mandatory": "mandatory", "warning": "advisory", "advisory": "advisory", "remediate": "remediate"}
OPS = ("create", "update", "replace", "delete")
OP_TITLES = {"create": "To create", "update": "To update", "replace": "To replace", "delete": "To delete"}
# How the engine spells the steps of each kind of change.
OP_OF_STEP = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "discard-replaced": "replace",
    "delete": "delete",
    "discard": "delete",
}
MAX_VALUE = 120
MAX_PROPERTIES = 25
MAX_MARKDOWN = 60_000  # GitHub refuses comments over 65,536 characters
MARKER = "<!-- phoenix-preview-report:{stack} -->"


@dataclass
class PropertyChange:
    path: str
    kind: str  # add, update, delete (with -replace when it forces a replacement)
    before: Any
    after: Any


@dataclass
class Change:
    op: str
    urn: str
    type_: str
    kubernetes_name: str | None
    properties: list[PropertyChange] = field(default_factory=list)
    replace_reasons: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class Violation:
    policy: str
    severity: str
    enforcement: str
    urn: str | None
    summary: str
    detail: str
    fix: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(the whole stack)"


@dataclass
class Preview:
    stack: str
    changes: list[Change]
    unchanged: int
    violations: list[Violation]
    errors: list[str]
    warnings: list[str]
    result: str  # succeeded / failed / unknown
    policy_packs: dict[str, str]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.result == "failed"

    @property
    def blocked(self) -> bool:
        return bool(self.mandatory) or self.failed


# --- reading the event stream -------------------------------------------------------------------


def read_events(text: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"line {number} of the preview output is not an engine event: {line[:200]}") from None
        if isinstance(event, dict):
            events.append(event)
    return events


PATH_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.\[\]]+)')


def property_path(path: str) -> list[str | int]:
    """`spec.hard["limits.cpu"]` -> ["spec", "hard", "limits.cpu"]; `a[0].b` -> ["a", 0, "b"]."""
    parts: list[str | int] = []
    for quoted, index, plain in PATH_TOKEN.findall(path):
        if plain:
            parts.append(plain)
        elif index:
            parts.append(int(index))
        else:
            parts.append(json.loads(f'"{quoted}"'))
    return parts


_MISSING = object()


def lookup(value: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        if is_secret(value):
            return value
        in_list = isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value)
        if in_list or (isinstance(part, str) and isinstance(value, dict) and part in value):
            value = value[part]
        else:
            return _MISSING
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def kubernetes_name(state: dict[str, Any] | None) -> str | None:
    if not state:
        return None
    metadata = (state.get("inputs") or {}).get("metadata") or (state.get("outputs") or {}).get("metadata") or {}
    if not isinstance(metadata, dict) or not metadata.get("name") or is_secret(metadata.get("name")):
        return None
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if isinstance(namespace, str) and namespace else str(metadata["name"])


def property_changes(metadata: dict[str, Any]) -> list[PropertyChange]:
    old, new = metadata.get("old") or {}, metadata.get("new") or {}
    changes = []
    for path, diff in sorted((metadata.get("detailedDiff") or {}).items()):
        kind = str((diff or {}).get("diffKind") or (diff or {}).get("kind") or "update")
        parts = property_path(path)
        before_source = old.get("inputs") if (diff or {}).get("inputDiff") else (old.get("outputs") or old.get("inputs"))
        before = lookup(before_source or {}, parts) if not kind.startswith("add") else _MISSING
        after = lookup(new.get("inputs") or {}, parts) if not kind.startswith("delete") else _MISSING
        changes.append(PropertyChange(path, kind, before, after))
    return changes


def split_message(message: str) -> tuple[str, str, str]:
    """A pack message is `description\\nwhat is wrong\\nFix: what to do`; returns the three parts."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    fix_lines = [line for line in lines if line.lower().startswith("fix:")]
    rest = [line for line in lines if line not in fix_lines]
    fix = " ".join(line[4:].strip() for line in fix_lines)
    summary = rest[0] if rest else ""
    detail = " ".join(rest[1:])
    return summary, detail, fix


def parse(stack: str, events: Iterable[dict[str, Any]]) -> Preview:
    steps: dict[str, Change] = {}
    order: list[str] = []
    unchanged: set[str] = set()
    violations: list[Violation] = []
    errors: list[str] = []
    warnings: list[str] = []
    result = "unknown"
    packs: dict[str, str] = {}
    for event in events:
        if "resourcePreEvent" in event:
            metadata = (event["resourcePreEvent"] or {}).get("metadata") or {}
            op, urn = str(metadata.get("op", "")), str(metadata.get("urn", ""))
            if str(metadata.get("type", "")) == "pulumi:pulumi:Stack" or not urn:
                continue
            if op in ("same", "read", "refresh"):
                unchanged.add(urn)
                continue
            kind = OP_OF_STEP.get(op)
            if kind is None:
                continue
            change = steps.get(urn)
            if change is None:
                state = metadata.get("new") or metadata.get("old")
                change = Change(kind, urn, str(metadata.get("type", "")), kubernetes_name(state))
                steps[urn] = change
                order.append(urn)
            if kind == "replace":
                change.op = "replace"
            if metadata.get("detailedDiff") and not change.properties:
                change.properties = property_changes(metadata)
            for key in metadata.get("keys") or []:
                if key not in change.replace_reasons:
                    change.replace_reasons.append(str(key))
        elif "policyEvent" in event:
            policy = event["policyEvent"] or {}
            summary, detail, fix = split_message(str(policy.get("message", "")))
            violations.append(
                Violation(
                    policy=str(policy.get("policyName", "")),
                    severity=str(policy.get("severity") or "unspecified").lower(),
                    enforcement=ENFORCEMENT.get(str(policy.get("enforcementLevel", "")), str(policy.get("enforcementLevel", ""))),
                    urn=policy.get("resourceUrn") or None,
                    summary=summary,
                    detail=detail,
                    fix=fix,
                )
            )
        elif "diagnosticEvent" in event:
            diagnostic = event["diagnosticEvent"] or {}
            if diagnostic.get("ephemeral"):
                continue
            text = str(diagnostic.get("message", "")).strip()
            severity = str(diagnostic.get("severity", ""))
            # "preview failed" only repeats what the other events say; a cancelled policy run
            # follows an earlier error.
            if severity == "error" and text not in ("preview failed", "failed to run policy: context canceled"):
                where = str(diagnostic.get("urn") or "").rsplit("::", 1)[-1]
                errors.append(f"{where}: {text}" if where else text)
            elif severity == "warning":
                warnings.append(text)
        elif "summaryEvent" in event:
            summary_event = event["summaryEvent"] or {}
            result = str(summary_event.get("result") or "unknown")
            packs = {str(k).split("|", 1)[0]: str(v) for k, v in (summary_event.get("PolicyPacks") or {}).items()}
    changes = [steps[urn] for urn in order]
    return Preview(stack, changes, len(unchanged - set(steps)), violations, _unique(errors), _unique(warnings), result, packs)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- rendering ----------------------------------------------------------------------------------


def show(value: Any) -> str:
    if value is _MISSING:
        return "—"
    if is_secret(value):
        return "`[secret]`"
    text = json.dumps(_masked(value), separators=(",", ":"), sort_keys=True) if not isinstance(value, str) else value
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _masked(value: Any) -> Any:
    if is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def counts(preview: Preview) -> str:
    parts = [f"{sum(1 for c in preview.changes if c.op == op)} to {op}" for op in OPS if any(c.op == op for c in preview.changes)]
    parts.append(f"{preview.unchanged} unchanged")
    return ", ".join(parts)


def render(preview: Preview, policy_config: str) -> str:
    mandatory, advisory = len(preview.mandatory), len(preview.violations) - len(preview.mandatory)
    if preview.failed and not mandatory:
        verdict = "❌ **the preview failed**"
    elif mandatory:
        verdict = f"❌ **blocked: {mandatory} mandatory policy violation{'s' if mandatory != 1 else ''}**"
    else:
        verdict = "✅ **no mandatory policy violation**"
    packs = ", ".join(f"`{name}` {version}" for name, version in sorted(preview.policy_packs.items())) or "the policy pack"
    lines = [
        MARKER.format(stack=preview.stack),
        f"## Preview of stack `{preview.stack}`: {verdict}",
        "",
        f"- **Resources:** {counts(preview) if preview.changes else 'no changes'}"
        + ("" if preview.changes else f" ({preview.unchanged} unchanged)"),
        f"- **Policies:** {packs} with `{policy_config}`: {mandatory} mandatory, {advisory} advisory violation(s)",
    ]
    for op in OPS:
        changes = [change for change in preview.changes if change.op == op]
        if not changes:
            continue
        lines += ["", f"### {OP_TITLES[op]} ({len(changes)})", ""]
        for change in changes:
            lines += render_change(change)
    if preview.violations:
        lines += ["", "### Policy violations", ""]
        for severity in SEVERITIES:
            group = [v for v in preview.violations if v.severity == severity]
            if not group:
                continue
            lines += [f"#### {severity.capitalize()} ({len(group)})", ""]
            lines += ["| level | policy | resource | violation | fix |", "|---|---|---|---|---|"]
            group.sort(key=lambda v: (v.enforcement != "mandatory", v.policy, v.resource))
            for v in group:
                level = "**mandatory**" if v.enforcement == "mandatory" else v.enforcement
                text = v.summary + (f" {v.detail}" if v.detail else "")
                lines.append(f"| {level} | `{v.policy}` | `{cell(v.resource)}` | {cell(text)} | {cell(v.fix) or '—'} |")
            lines.append("")
    if preview.errors:
        lines += ["", "### Preview errors", ""]
        lines += [f"- {cell(error)[:2000]}" for error in preview.errors]
    if preview.warnings:
        lines += ["", "<details><summary>Warnings</summary>", ""]
        lines += [f"- {cell(warning)[:1000]}" for warning in preview.warnings]
        lines += ["", "</details>"]
    lines += ["", f"<sub>`scripts/preview-report.sh {preview.stack}` renders this report locally.</sub>", ""]
    text = "\n".join(lines)
    if len(text) > MAX_MARKDOWN:
        cut = text[:MAX_MARKDOWN].rsplit("\n", 1)[0]
        command = f"scripts/preview-report.sh {preview.stack}"
        text = cut + f"\n\n… report cut at {MAX_MARKDOWN} characters; run `{command}` for all of it.\n"
    return text


def render_change(change: Change) -> list[str]:
    name = f"`{change.name}`" + (f" ({change.kubernetes_name})" if change.kubernetes_name else "")
    head = f"- {name} `{change.type_}`"
    if change.replace_reasons:
        head += " — replaced because of " + ", ".join(f"`{reason}`" for reason in change.replace_reasons)
    lines = [head]
    if change.op in ("update", "replace") and change.properties:
        lines += ["", "  | property | change | before | after |", "  |---|---|---|---|"]
        for prop in change.properties[:MAX_PROPERTIES]:
            lines.append(f"  | `{cell(prop.path)}` | {prop.kind} | {show(prop.before)} | {show(prop.after)} |")
        if len(change.properties) > MAX_PROPERTIES:
            lines.append(f"  | … {len(change.properties) - MAX_PROPERTIES} more | | | |")
        lines.append("")
    return lines


# --- running ------------------------------------------------------------------------------------


def run_preview(stack: str, policy_config: Path, pulumi_args: Sequence[str]) -> str:
    command = [
        "bash",
        str(ROOT / "scripts" / "stack.sh"),
        stack,
        "preview",
        "--json",
        "--policy-pack",
        "policy",
        "--policy-pack-config",
        str(policy_config),
        *pulumi_args,
    ]
    env = {**os.environ, "PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "1"}
    # stderr (the workspace script's messages, engine errors) goes to ours; stdout is the stream.
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0 and not result.stdout.strip():
        raise RuntimeError(f"`{' '.join(command[1:])}` exited {result.returncode} before the preview started (see above)")
    return result.stdout


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pulumi_args: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, pulumi_args = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(prog="scripts/preview-report.sh", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: standard output)")
    parser.add_argument("--events", type=Path, help="render this recorded event stream instead of running a preview")
    parser.add_argument("--events-out", type=Path, help="also keep the preview's event stream here")
    parser.add_argument("--policy-config", type=Path, help="policy config (default: policy/config/STACK.json)")
    args = parser.parse_args(argv)
    policy_config = args.policy_config or ROOT / "policy" / "config" / f"{args.stack}.json"
    try:
        shown_config = str(policy_config.resolve().relative_to(ROOT))
    except ValueError:
        shown_config = str(policy_config)
    try:
        text = args.events.read_text() if args.events else run_preview(args.stack, policy_config, pulumi_args)
        if args.events_out:
            args.events_out.parent.mkdir(parents=True, exist_ok=True)
            args.events_out.write_text(text)
        preview = parse(args.stack, read_events(text))
    except (OSError, RuntimeError, ValueError) as error:
        print(f"preview-report: {error}", file=sys.stderr)
        preview = Preview(args.stack, [], 0, [], [str(error)], [], "failed", {})
    markdown = render(preview, shown_config)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown)
        print(f"preview-report: {args.out}: {counts(preview)}; {len(preview.mandatory)} mandatory violation(s)", file=sys.stderr)
    else:
        print(markdown)
    return 1 if preview.blocked else 0


if __name__ == "__main__":
    sys.exit(main())
