"""Service images: built from the service's Dockerfile and pushed, or a prebuilt reference.

Workloads always get a digest-pinned reference from here, never a tag alone.
"""

from __future__ import annotations

import pulumi

from components.labels import standard_labels
from components.spec import ImageBuild, ServiceSpec


class ServiceImage(pulumi.ComponentResource):
    """The image a service runs; `ref` is `registry/name[:tag]@sha256:<digest>`."""

    ref: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        service: ServiceSpec,
        registry: str,
        environment: str,
        build_images: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Image", resource_name, None, opts)
        if service.build is not None and build_images:
            self.ref = self._build(resource_name, service.name, service.build, registry, environment)
        else:
            assert service.image is not None  # the spec guarantees an image when nothing is built
            self.ref = pulumi.Output.from_input(service.image)
        self.register_outputs({"ref": self.ref})

    def _build(self, resource_name: str, service: str, build: ImageBuild, registry: str, environment: str) -> pulumi.Output[str]:
        # Imported here: the build SDK brings a provider plugin that needs Docker,
        # and stacks that only use prebuilt images must not depend on it.
        import pulumi_docker_build as docker_build

        image = docker_build.Image(
            resource_name,
            context=docker_build.BuildContextArgs(location=build.context),
            dockerfile=docker_build.DockerfileArgs(location=f"{build.context}/{build.dockerfile}"),
            tags=[f"{registry}/{service}:{build.tag}"],
            labels={**standard_labels(environment, service), "org.opencontainers.image.version": build.tag},
            platforms=[docker_build.Platform.LINUX_AMD64],
            push=True,
            # Preview shows the build without running it (no Docker needed to review a change).
            build_on_preview=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        ref: pulumi.Output[str] = image.ref
        return ref
