"""Storage: encrypted StorageClasses, PVCs that use them, no hostPath PersistentVolumes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from policy.fields import field, mapping, mappings, strings
from policy.model import Policy, PolicyConfig, Resource, ResourcePolicy, StackFinding, StackPolicy, cis, kube, nsa

ANY_VALUE = "*"
"""In an encryption requirement, any non-empty value turns encryption on (e.g. a KMS key ID)."""

# How the main CSI drivers (and their in-tree predecessors) turn encryption at rest on.
# Each provisioner maps to alternatives; a class encrypts when all parameters of one alternative match.
KNOWN_ENCRYPTION_PARAMETERS: Mapping[str, list[Mapping[str, str]]] = {
    "ebs.csi.aws.com": [{"encrypted": "true"}],
    "kubernetes.io/aws-ebs": [{"encrypted": "true"}],
    "efs.csi.aws.com": [{"encrypted": "true"}],
    "pd.csi.storage.gke.io": [{"disk-encryption-kms-key": ANY_VALUE}],
    "kubernetes.io/gce-pd": [{"disk-encryption-kms-key": ANY_VALUE}],
    "disk.csi.azure.com": [{"diskEncryptionSetID": ANY_VALUE}, {"diskEncryptionType": ANY_VALUE}],
    "kubernetes.io/azure-disk": [{"diskEncryptionSetID": ANY_VALUE}],
    "rbd.csi.ceph.com": [{"encrypted": "true"}],
    "cephfs.csi.ceph.com": [{"encrypted": "true"}],
    "driver.longhorn.io": [{"encrypted": "true"}],
    "cinder.csi.openstack.org": [{"type": ANY_VALUE, "encrypted": "true"}],
}


def _requirements(provisioner: str, config: PolicyConfig) -> list[Mapping[str, Any]] | None:
    extra = mapping(config.get("encryptionParameters")).get(provisioner)
    if isinstance(extra, Mapping):
        return [extra]
    return KNOWN_ENCRYPTION_PARAMETERS.get(provisioner)


def _satisfies(parameters: Mapping[str, Any], requirement: Mapping[str, Any]) -> bool:
    for key, expected in requirement.items():
        actual = parameters.get(key)
        if not isinstance(actual, str) or not actual:
            return False
        if expected != ANY_VALUE and actual.lower() != str(expected).lower():
            return False
    return True


def storage_class_encryption_problem(storage_class: Resource, config: PolicyConfig) -> str | None:
    provisioner = storage_class.props.get("provisioner")
    requirements = _requirements(str(provisioner), config)
    if requirements is None:
        return f"provisioner {provisioner} is not known to the policy; add how it turns on encryption to encryptionParameters"
    parameters = mapping(storage_class.props.get("parameters"))
    if any(_satisfies(parameters, requirement) for requirement in requirements):
        return None
    wanted = " or ".join(", ".join(f"{k}={v}" for k, v in r.items()) for r in requirements)
    return f"provisioner {provisioner} does not turn on encryption (set parameters {wanted})"


def storage_class_encrypts(resource: Resource, config: PolicyConfig) -> list[str]:
    problem = storage_class_encryption_problem(resource, config)
    return [problem] if problem else []


def _claims(resource: Resource) -> Iterator[tuple[str, Any]]:
    """(description, storageClassName) of each claim a resource makes."""
    if resource.package != "kubernetes":
        return
    if resource.kind == "PersistentVolumeClaim":
        yield f"PersistentVolumeClaim {resource.name}", field(resource.props, "spec", "storageClassName")
    elif resource.kind == "StatefulSet":
        for template in mappings(field(resource.props, "spec", "volumeClaimTemplates")):
            name = field(template, "metadata", "name")
            yield f"volumeClaimTemplate {name}", field(template, "spec", "storageClassName")


def claims_use_encrypted_class(resources: Sequence[Resource], config: PolicyConfig) -> list[StackFinding]:
    classes = {r.name: r for r in resources if r.package == "kubernetes" and r.kind == "StorageClass"}
    external = strings(config.get("externalEncryptedStorageClasses"))
    findings: list[StackFinding] = []
    for resource in resources:
        for claim, class_name in _claims(resource):
            if not isinstance(class_name, str) or not class_name:
                findings.append((resource, f"{claim} does not name a storageClassName"))
            elif class_name in external:
                continue
            elif class_name not in classes:
                findings.append(
                    (
                        resource,
                        f"{claim} uses StorageClass {class_name}, which is neither defined here "
                        "nor listed in externalEncryptedStorageClasses",
                    )
                )
            elif (problem := storage_class_encryption_problem(classes[class_name], config)) is not None:
                findings.append((resource, f"{claim} uses StorageClass {class_name}, which does not encrypt: {problem}"))
    return findings


def no_host_path_persistent_volume(resource: Resource, _config: PolicyConfig) -> list[str]:
    if field(resource.props, "spec", "hostPath") is not None:
        return [f"is backed by hostPath {field(resource.props, 'spec', 'hostPath', 'path')}"]
    return []


ENCRYPTION_PARAMETERS_SCHEMA = {
    "type": "object",
    "default": {},
    "description": 'Extra provisioners: {provisioner: {parameter: value}}; value "*" accepts any non-empty value.',
    "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
}

STORAGE_POLICIES: list[Policy] = [
    ResourcePolicy(
        name="storage-class-encryption",
        description="StorageClasses must turn on encryption at rest.",
        severity=Severity.HIGH,
        remediation='Set the provisioner\'s encryption parameter (ebs.csi.aws.com: encrypted: "true" plus kmsKeyId; '
        "pd.csi.storage.gke.io: disk-encryption-kms-key; disk.csi.azure.com: diskEncryptionSetID), or "
        "declare another provisioner's parameter in encryptionParameters.",
        frameworks=(nsa("Secrets"),),
        config_properties={"encryptionParameters": ENCRYPTION_PARAMETERS_SCHEMA},
        applies_to=kube("StorageClass"),
        check=storage_class_encrypts,
    ),
    StackPolicy(
        name="storage-claim-encrypted-class",
        description="Every PersistentVolumeClaim must name a StorageClass that encrypts.",
        severity=Severity.HIGH,
        remediation="Set spec.storageClassName (and volumeClaimTemplates[*].spec.storageClassName) to an encrypting "
        "StorageClass of the stack, or list a cluster-provided encrypting class in "
        "externalEncryptedStorageClasses.",
        frameworks=(nsa("Secrets"),),
        config_properties={
            "encryptionParameters": ENCRYPTION_PARAMETERS_SCHEMA,
            "externalEncryptedStorageClasses": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "StorageClasses created outside the stack that are known to encrypt.",
            },
        },
        check_stack=claims_use_encrypted_class,
    ),
    ResourcePolicy(
        name="storage-no-host-path-volume",
        description="PersistentVolumes must not be backed by hostPath.",
        severity=Severity.HIGH,
        remediation="Provision the volume through an encrypting CSI StorageClass instead of spec.hostPath.",
        frameworks=(cis("5.2.12"), nsa("Pod security")),
        applies_to=kube("PersistentVolume"),
        check=no_host_path_persistent_volume,
    ),
]
