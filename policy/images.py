"""Container images: pinned by digest and from an allowed registry; image builds (pulumi-docker,
pulumi-docker-build) that push immutable tags and keep secrets out of build args."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Severity

from policy.fields import field, mapping, strings
from policy.model import PolicyConfig, PulumiSecret, Resource, ResourcePolicy, cis, nsa
from policy.pods import POD_BEARING, containers, pod_template
from policy.secrets import secret_like_entry, secret_like_name

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
DEFAULT_REGISTRY = "docker.io"
DEFAULT_IMMUTABLE_TAG = r"^(v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?|(sha-|git-)?[0-9a-f]{7,64}|\d{8,}[0-9A-Za-z.-]*)$"


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageReference:
    """Split an image reference, normalising Docker Hub shorthand (nginx -> docker.io/library/nginx)."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DEFAULT_REGISTRY, rest
        if "/" not in path:
            path = f"library/{path}"
    repository, colon, tag = path.rpartition(":") if ":" in path else (path, "", "")
    return ImageReference(registry, repository if colon else path, tag or None, digest or None)


def _normalised_prefix(prefix: str) -> str:
    reference = parse_image(prefix.rstrip("/") or prefix)
    return reference.name + ("/" if prefix.endswith("/") else "")


def allowed_registry(image: str, allowed: list[str]) -> bool:
    name = parse_image(image).name
    for prefix in allowed:
        normalised = _normalised_prefix(prefix)
        if name == normalised.rstrip("/") or name.startswith(normalised if normalised.endswith("/") else normalised + "/"):
            return True
    return False


def _images(resource: Resource) -> list[tuple[str, Any]]:
    pod = pod_template(resource)
    if pod is None:
        return []
    return [(c.name, c.spec.get("image")) for c in containers(pod)]


def image_pinned_by_digest(resource: Resource, _config: PolicyConfig) -> list[str]:
    return [
        f'container "{name}" image {image!r} is not pinned by digest (@sha256:<64 hex>)'
        for name, image in _images(resource)
        if not (isinstance(image, str) and DIGEST.search(image))
    ]


def image_from_allowed_registry(resource: Resource, config: PolicyConfig) -> list[str]:
    allowed = strings(config.get("allowedRegistries"))
    return [
        f'container "{name}" image {image!r} is not from an allowed registry ({", ".join(allowed) or "none allowed"})'
        for name, image in _images(resource)
        if not (isinstance(image, str) and allowed_registry(image, allowed))
    ]


@dataclass(frozen=True)
class ImageBuild:
    """What both image-build resource types say about pushing and build args."""

    pushes: bool
    tags: list[str]
    build_args: Mapping[str, Any]


def image_build(resource: Resource) -> ImageBuild | None:
    props = resource.props
    if resource.type_token == "docker-build:index:Image":
        return ImageBuild(props.get("push") is True, strings(props.get("tags")), mapping(props.get("buildArgs")))
    if resource.type_token == "docker:index/image:Image":
        name = props.get("imageName")
        return ImageBuild(
            props.get("skipPush") is not True, [name] if isinstance(name, str) else [], mapping(field(props, "build", "args"))
        )
    return None


def immutable_tag(reference: str, pattern: str) -> bool:
    if "@sha256:" in reference:
        return True
    tag = parse_image(reference).tag
    return tag is not None and tag != "latest" and re.match(pattern, tag) is not None


def image_build_pushes_immutable_tag(resource: Resource, config: PolicyConfig) -> list[str]:
    build = image_build(resource)
    if build is None or not build.pushes:
        return []
    pattern = str(config.get("immutableTagPattern"))
    if any(immutable_tag(tag, pattern) for tag in build.tags):
        return []
    return [
        f"pushes only mutable tags ({', '.join(build.tags) or 'no tag, i.e. latest'}); add an immutable tag matching {pattern}"
    ]


def image_build_args_hold_no_secrets(resource: Resource, _config: PolicyConfig) -> list[str]:
    build = image_build(resource)
    if build is None:
        return []
    messages = []
    for key, value in build.build_args.items():
        reason = "it is a Pulumi secret" if isinstance(value, PulumiSecret) else secret_like_entry(key, value)
        if reason is None and isinstance(key, str) and secret_like_name(key):
            reason = "its name says it holds a secret"
        if reason:
            messages.append(f"build arg {key} carries a secret ({reason}); build args are stored in the image history")
    return messages


IMAGE_BUILD_TYPES = frozenset({("docker-build", "Image"), ("docker", "Image")})

IMAGE_POLICIES = [
    ResourcePolicy(
        name="image-pinned-by-digest",
        description="Container images must be pinned by digest.",
        severity=Severity.HIGH,
        remediation="Set image to <registry>/<repository>@sha256:<digest> (e.g. the digest output of the image "
        "build) in every container, init container and ephemeral container.",
        frameworks=(nsa("Building secure container images"),),
        applies_to=POD_BEARING,
        check=image_pinned_by_digest,
    ),
    ResourcePolicy(
        name="image-allowed-registry",
        description="Container images must come from an allowed registry.",
        severity=Severity.HIGH,
        remediation="Pull the image from one of the allowedRegistries of this policy's config (mirror it there), "
        "or add the registry to allowedRegistries.",
        frameworks=(cis("5.5.1"), nsa("Building secure container images")),
        config_properties={
            "allowedRegistries": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["ghcr.io/phoenix-orch/"],
                "description": "Registry/repository prefixes images may come from, e.g. ghcr.io/phoenix-orch/.",
            }
        },
        applies_to=POD_BEARING,
        check=image_from_allowed_registry,
    ),
    ResourcePolicy(
        name="image-build-immutable-tag",
        description="Image builds that push must push at least one immutable tag, never only mutable ones.",
        severity=Severity.MEDIUM,
        remediation="Add a tag that never moves (a version like v1.4.2 or the git commit SHA) to tags "
        "(docker-build) or imageName (docker), and deploy by the pushed digest.",
        frameworks=(nsa("Building secure container images"),),
        config_properties={
            "immutableTagPattern": {
                "type": "string",
                "minLength": 1,
                "default": DEFAULT_IMMUTABLE_TAG,
                "description": "Regular expression a tag must match to count as immutable.",
            }
        },
        applies_to=IMAGE_BUILD_TYPES,
        check=image_build_pushes_immutable_tag,
    ),
    ResourcePolicy(
        name="image-build-no-secret-build-args",
        description="Build secrets must not be passed as build args (they persist in the image history).",
        severity=Severity.HIGH,
        remediation="Pass secrets with the build's secrets input (docker-build secrets / RUN --mount=type=secret) "
        "instead of buildArgs.",
        frameworks=(nsa("Building secure container images"), nsa("Secrets")),
        applies_to=IMAGE_BUILD_TYPES,
        check=image_build_args_hold_no_secrets,
    ),
]
