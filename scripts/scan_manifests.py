"""The third-party scanner gate over the rendered dev and prod manifests and the Dockerfiles.

Renders each stack (scripts/render_manifests.py), runs Checkov, Trivy, kubernetes-validate and
hadolint from their virtualenvs in .venv-scanners/ (scripts/scan-manifests.sh creates them), and
fails on any failed check not listed in scanners/exceptions.yaml, and on any listed exception that
no longer matches a finding. Scanners run with no network where the machine allows it (a new
network namespace), which proves they need none.

    .venv-dev/bin/python scripts/scan_manifests.py [--out DIR] [--stacks dev,prod]

Exit status: 0 when every check passes or is excepted, 1 on failed checks or unused exceptions,
2 when a scanner cannot run or its output cannot be read.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import render_manifests  # noqa: E402

SCANNERS_DIR = ROOT / ".venv-scanners"
EXCEPTIONS_FILE = ROOT / "scanners" / "exceptions.yaml"
HADOLINT_CONFIG = ROOT / "scanners" / "hadolint.yaml"
DEFAULT_STACKS = ("dev", "prod")
SCANNER_NAMES = ("checkov", "trivy", "kubernetes-validate", "hadolint")


class GateError(Exception):
    """A scanner could not run, or its output could not be read."""


@dataclass(frozen=True)
class Finding:
    scanner: str
    check: str
    resource: str  # Kind/namespace/name (Kind/name when cluster-scoped), or a Dockerfile's path
    message: str
    stack: str | None = None

    def line(self) -> str:
        where = f" [{self.stack}]" if self.stack else ""
        return f"{self.scanner} {self.check} {self.resource}{where}: {self.message}"


@dataclass(frozen=True)
class Exemption:
    scanner: str
    check: str
    resource: str  # a resource id or an fnmatch pattern over resource ids
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (
            finding.scanner == self.scanner
            and finding.check == self.check
            and fnmatch.fnmatchcase(finding.resource, self.resource)
        )


@dataclass
class ScannerRun:
    scanner: str
    version: str
    passed: int
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Verdict:
    failed: list[Finding]
    excepted: list[tuple[Finding, Exemption]]
    unused: list[Exemption]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unused


# --- exceptions ---------------------------------------------------------------------------------


def load_exceptions(path: Path) -> list[Exemption]:
    """scanners/exceptions.yaml: `exceptions:` list of {scanner, check, resource, reason}, all required."""
    document = yaml.safe_load(path.read_text()) or {}
    entries = document.get("exceptions") or []
    if not isinstance(entries, list):
        raise GateError(f"{path}: `exceptions` must be a list")
    exemptions: list[Exemption] = []
    for index, entry in enumerate(entries):
        where = f"{path}: exceptions[{index}]"
        if not isinstance(entry, dict):
            raise GateError(f"{where}: expected a mapping with scanner, check, resource and reason")
        missing = [key for key in ("scanner", "check", "resource", "reason") if not str(entry.get(key) or "").strip()]
        if missing:
            raise GateError(f"{where}: missing {', '.join(missing)} (every exception names its check, resource and reason)")
        unknown = sorted(set(entry) - {"scanner", "check", "resource", "reason"})
        if unknown:
            raise GateError(f"{where}: unknown key(s) {', '.join(unknown)}")
        if entry["scanner"] not in SCANNER_NAMES:
            raise GateError(f"{where}: scanner {entry['scanner']!r} is not one of {', '.join(SCANNER_NAMES)}")
        exemptions.append(Exemption(*(str(entry[key]).strip() for key in ("scanner", "check", "resource", "reason"))))
    return exemptions


def judge(findings: Iterable[Finding], exemptions: Sequence[Exemption]) -> Verdict:
    failed: list[Finding] = []
    excepted: list[tuple[Finding, Exemption]] = []
    used: set[int] = set()
    for finding in findings:
        match = next((index for index, exemption in enumerate(exemptions) if exemption.matches(finding)), None)
        if match is None:
            failed.append(finding)
        else:
            used.add(match)
            excepted.append((finding, exemptions[match]))
    unused = [exemption for index, exemption in enumerate(exemptions) if index not in used]
    return Verdict(failed=failed, excepted=excepted, unused=unused)


# --- running scanners ---------------------------------------------------------------------------


def offline_prefix() -> list[str]:
    """A command prefix that runs a scanner in a new network namespace with no interfaces up."""
    if os.environ.get("PHOENIX_SCAN_ALLOW_NETWORK") == "1" or shutil.which("unshare") is None:
        return []
    for prefix in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return prefix
    return []


def scanner_bin(scanner: str, executable: str) -> Path:
    path = SCANNERS_DIR / scanner / "bin" / executable
    if not path.exists():
        raise GateError(f"{path} is missing: run scripts/scan-manifests.sh, which creates the scanner virtualenvs")
    return path


def run(
    command: Sequence[str | Path], offline: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*offline, *map(str, command)], capture_output=True, text=True, check=False, cwd=ROOT, env={**os.environ, **(env or {})}
    )


def version_of(command: Sequence[str | Path]) -> str:
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, check=False)
    text = (result.stdout or result.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def resource_id(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    parts = [document.get("kind"), metadata.get("namespace"), metadata.get("name")]
    return "/".join(str(part) for part in parts if part)


@dataclass
class Rendered:
    """The rendered manifests: one file per resource, with each file's resource id and stack."""

    directory: Path
    files: dict[Path, tuple[str, str, str]]  # path -> (stack, resource id, kind)


def render(stacks: Sequence[str], out: Path) -> Rendered:
    directory = out / "manifests"
    shutil.rmtree(directory, ignore_errors=True)
    files: dict[Path, tuple[str, str, str]] = {}
    for stack in stacks:
        render_manifests.write(stack, directory, split=True)
        for path in sorted((directory / stack).glob("*.yaml")):
            document = yaml.safe_load(path.read_text())
            files[path.resolve()] = (stack, resource_id(document), str(document.get("kind")))
    return Rendered(directory=directory, files=files)


def run_checkov(rendered: Rendered, offline: Sequence[str]) -> ScannerRun:
    checkov = scanner_bin("checkov", "checkov")
    command: list[str | Path] = [
        checkov,
        "--framework",
        "kubernetes",
        "--skip-download",
        "--output",
        "json",
        "--quiet",
        "--compact",
    ]
    command += ["--file", *sorted(rendered.files)]
    result = run(command, offline, env={"LOG_LEVEL": "WARNING"})
    if result.returncode not in (0, 1):
        raise GateError(f"checkov exited {result.returncode}:\n{result.stderr[-3000:]}")
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise GateError(f"checkov printed no JSON report ({error}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}") from None
    return parse_checkov(reports, rendered, version_of([checkov, "--version"]))


def parse_checkov(reports: Any, rendered: Rendered, version: str) -> ScannerRun:
    reports = reports if isinstance(reports, list) else [reports]
    scanner = ScannerRun("checkov", f"checkov {version}", passed=0)
    for report in reports:
        if report.get("check_type") not in (None, "kubernetes"):
            continue
        scanner.passed += int((report.get("summary") or {}).get("passed", 0))
        if int((report.get("summary") or {}).get("parsing_errors", 0)):
            raise GateError(f"checkov could not parse some manifests: {report.get('summary')}")
        for failed in (report.get("results") or {}).get("failed_checks", []):
            path = Path(str(failed.get("file_abs_path", ""))).resolve()
            stack, resource, _ = rendered.files.get(path, (None, str(failed.get("resource")), ""))
            scanner.findings.append(
                Finding("checkov", str(failed["check_id"]), resource, str(failed.get("check_name", "")), stack)
            )
    return scanner


def trivy_registry_data(out: Path) -> Path:
    """KSV-0125's trusted registries (Trivy's default list is cloud registries only): the registry
    hosts of the pack's `image-allowed-registry` allowlists, so both gates trust the same registries."""
    hosts: set[str] = set()
    for config in sorted((ROOT / "policy" / "config").glob("*.json")):
        if config.name == "schema.json":
            continue
        allowed = (json.loads(config.read_text()).get("image-allowed-registry") or {}).get("allowedRegistries") or []
        hosts.update(str(prefix).split("/", 1)[0] for prefix in allowed if str(prefix).strip())
    directory = out / "trivy-data"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ksv0125.json").write_text(json.dumps({"ksv0125": {"trusted_registries": sorted(hosts)}}, indent=2))
    return directory


def run_trivy(rendered: Rendered, out: Path, offline: Sequence[str]) -> ScannerRun:
    """Trivy scans each kind on its own: a check whose metadata selects one kind (KSV-0039 selects
    LimitRange, KSV-0040 ResourceQuota) runs on every file of a scan that holds such a document,
    so scanning all kinds together reports them against every other resource."""
    trivy = scanner_bin("trivy", "trivy")
    data = trivy_registry_data(out)
    groups = out / "trivy-by-kind"
    shutil.rmtree(groups, ignore_errors=True)
    targets: dict[Path, tuple[str, str, str]] = {}
    for path, (stack, resource, kind) in rendered.files.items():
        target = groups / kind / f"{stack}-{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        targets[target.resolve()] = (stack, resource, kind)
    common = ["config", "--quiet", "--format", "json", "--skip-check-update", "--disable-telemetry", "--skip-version-check"]
    common += ["--cache-dir", str(out / "trivy-cache")]
    scanner = ScannerRun("trivy", "trivy " + version_of([trivy, "--version"]).removeprefix("Version: "), passed=0)
    scans: list[tuple[list[str | Path], Path, dict[Path, tuple[Any, str, str]]]] = []
    for directory in sorted({target.parent for target in targets}):
        scans.append(
            ([trivy, *common, "--misconfig-scanners", "kubernetes", "--config-data", data, directory], directory, targets)
        )
    dockerfiles = find_dockerfiles()
    for directory in sorted({dockerfile.parent for dockerfile in dockerfiles}):
        mapping = {
            (directory / d.name).resolve(): (None, str(d.relative_to(ROOT)), "Dockerfile")
            for d in dockerfiles
            if d.parent == directory
        }
        scans.append(([trivy, *common, "--misconfig-scanners", "dockerfile", directory], directory, mapping))
    # Trivy spends most of each run compiling its checks: run the scans side by side.
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        results = list(pool.map(lambda scan: run(scan[0], offline), scans))
    for (_, directory, mapping), result in zip(scans, results, strict=True):
        parse_trivy(trivy_report(result), directory, mapping, scanner)
    return scanner


def trivy_report(result: subprocess.CompletedProcess[str]) -> Any:
    if result.returncode != 0:
        raise GateError(f"trivy exited {result.returncode}:\n{result.stderr[-3000:]}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise GateError(f"trivy printed no JSON report ({error}):\n{result.stderr[-2000:]}") from None


def parse_trivy(report: Any, directory: Path, targets: dict[Path, tuple[Any, str, str]], scanner: ScannerRun) -> None:
    for result in report.get("Results") or []:
        path = (directory / str(result.get("Target", ""))).resolve()
        stack, resource, _ = targets.get(path, (None, str(result.get("Target")), ""))
        scanner.passed += int((result.get("MisconfSummary") or {}).get("Successes", 0))
        for misconfiguration in result.get("Misconfigurations") or []:
            if misconfiguration.get("Status", "FAIL") != "FAIL":
                continue
            severity, title = misconfiguration.get("Severity", ""), misconfiguration.get("Title", "")
            message = f"{severity} {title}: {misconfiguration.get('Message', '')}"
            scanner.findings.append(Finding("trivy", str(misconfiguration["ID"]), resource, message.strip(), stack))


VALIDATE_LINE = re.compile(r"^(?P<level>INFO|WARN|WARNING|ERROR) (?P<file>\S+) (?P<text>.*)$")


def kubernetes_schema_version() -> str:
    """The Kubernetes minor the toolchain's cluster runs (toolchain/versions.env), as x.y.0."""
    versions = (ROOT / "toolchain" / "versions.env").read_text()
    match = re.search(r"^KUBERNETES_VERSION=(\d+)\.(\d+)", versions, re.MULTILINE)
    if not match:
        raise GateError("toolchain/versions.env has no KUBERNETES_VERSION")
    return f"{match.group(1)}.{match.group(2)}.0"


def run_kubernetes_validate(rendered: Rendered, offline: Sequence[str]) -> ScannerRun:
    validate = scanner_bin("kubernetes-validate", "kubernetes-validate")
    version = kubernetes_schema_version()
    result = run([validate, "--strict", "--kubernetes-version", version, *sorted(rendered.files)], offline)
    scanner = parse_kubernetes_validate(
        result.stdout + result.stderr, rendered, f"{version_of([validate, '--version'])}, schemas {version}"
    )
    if result.returncode != 0 and not scanner.findings:
        raise GateError(f"kubernetes-validate exited {result.returncode} without a finding:\n{result.stderr[-3000:]}")
    return scanner


def parse_kubernetes_validate(output: str, rendered: Rendered, version: str) -> ScannerRun:
    scanner = ScannerRun("kubernetes-validate", f"kubernetes-validate {version}", passed=0)
    for line in output.splitlines():
        match = VALIDATE_LINE.match(line.strip())
        if not match:
            continue
        stack, resource, _ = rendered.files.get(Path(match["file"]).resolve(), (None, match["file"], ""))
        text = match["text"]
        if match["level"] == "INFO":
            scanner.passed += text.startswith("passed")
            continue
        if match["level"] == "ERROR":
            check = "strict-schema"
        elif text.startswith("Couldn't find schema"):
            check = "no-schema"  # kubernetes-validate knows the built-in API only, no custom resources
        else:
            check = "schema-warning"
        scanner.findings.append(Finding("kubernetes-validate", check, resource, text, stack))
    return scanner


def find_dockerfiles() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    names = listed.stdout.splitlines() if listed.returncode == 0 else [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")]
    return sorted(
        (ROOT / name).resolve()
        for name in names
        if (Path(name).name == "Dockerfile" or Path(name).name.endswith(".Dockerfile")) and (ROOT / name).is_file()
    )


def run_hadolint(offline: Sequence[str], dockerfiles: Sequence[Path] | None = None) -> ScannerRun:
    hadolint = scanner_bin("hadolint", "hadolint")
    files = list(dockerfiles if dockerfiles is not None else find_dockerfiles())
    scanner = ScannerRun("hadolint", version_of([hadolint, "--version"]), passed=0)
    if not files:
        return scanner
    result = run([hadolint, "--config", HADOLINT_CONFIG, "--format", "json", *files], offline)
    try:
        reported = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as error:
        raise GateError(f"hadolint printed no JSON ({error}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}") from None
    if result.returncode not in (0, 1) or (result.returncode == 1 and not reported):
        raise GateError(f"hadolint exited {result.returncode}:\n{result.stderr[-3000:]}")
    return parse_hadolint(reported, files, scanner)


def parse_hadolint(reported: list[dict[str, Any]], files: Sequence[Path], scanner: ScannerRun) -> ScannerRun:
    with_findings: set[str] = set()
    for item in reported:
        path = Path(str(item.get("file", ""))).resolve()
        resource = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        with_findings.add(resource)
        message = f"{item.get('level', '')} line {item.get('line', '?')}: {item.get('message', '')}"
        scanner.findings.append(Finding("hadolint", str(item.get("code")), resource, message))
    scanner.passed += sum(
        1 for path in files if (str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)) not in with_findings
    )
    return scanner


# --- the gate -----------------------------------------------------------------------------------


def report(runs: Sequence[ScannerRun], verdict: Verdict, offline: Sequence[str]) -> str:
    excepted_by_scanner: dict[str, list[tuple[Finding, Exemption]]] = {}
    for finding, exemption in verdict.excepted:
        excepted_by_scanner.setdefault(finding.scanner, []).append((finding, exemption))
    failed_by_scanner: dict[str, list[Finding]] = {}
    for finding in verdict.failed:
        failed_by_scanner.setdefault(finding.scanner, []).append(finding)
    lines = [f"network: {'none (' + ' '.join(offline) + ')' if offline else 'not isolated (no unshare here)'}"]
    for scanner in runs:
        failed = failed_by_scanner.get(scanner.scanner, [])
        excepted = excepted_by_scanner.get(scanner.scanner, [])
        lines.append(f"{scanner.version}: {scanner.passed} passed, {len(failed)} failed, {len(excepted)} excepted")
        lines.extend(f"  FAILED   {finding.line()}" for finding in failed)
        lines.extend(f"  EXCEPTED {finding.line()}\n           reason: {exemption.reason}" for finding, exemption in excepted)
    lines.extend(
        f"UNUSED EXCEPTION {exemption.scanner} {exemption.check} {exemption.resource}: it matches no finding; remove it"
        for exemption in verdict.unused
    )
    status = "passed" if verdict.ok else "FAILED"
    lines.append(
        f"scanner gate {status}: {len(verdict.failed)} failed check(s), {len(verdict.excepted)} excepted, "
        f"{len(verdict.unused)} unused exception(s) ({EXCEPTIONS_FILE.relative_to(ROOT)})"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "scan", help="work directory (default: build/scan)")
    parser.add_argument("--stacks", default=",".join(DEFAULT_STACKS), help="comma-separated stacks (default: dev,prod)")
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS_FILE)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        exemptions = load_exceptions(args.exceptions)
        rendered = render([stack for stack in args.stacks.split(",") if stack], out)
        offline = offline_prefix()
        runs = [
            run_checkov(rendered, offline),
            run_trivy(rendered, out, offline),
            run_kubernetes_validate(rendered, offline),
            run_hadolint(offline),
        ]
    except GateError as error:
        print(f"scanner gate error: {error}", file=sys.stderr)
        return 2
    verdict = judge([finding for scanner in runs for finding in scanner.findings], exemptions)
    text = report(runs, verdict, offline)
    (out / "report.txt").write_text(text + "\n")
    print(text)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
