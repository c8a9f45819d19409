#!/usr/bin/env python3
"""A volume provisioner for the local cluster: it stands in for the cloud's CSI
driver the way kwok stands in for kubelets.

Nothing on a kwok cluster provisions volumes, so a claim on a StorageClass such
as `provisioner: ebs.csi.aws.com` would stay Pending forever and so would the
pods using it. This does what a CSI driver's external-provisioner sidecar does,
minus the disk:

- For each unbound PVC whose provisioner (the `volume.kubernetes.io/storage-provisioner`
  annotation, set by the PV controller once it hands the claim to an external
  provisioner) is one it handles, and, for WaitForFirstConsumer classes, once
  the scheduler has put `volume.kubernetes.io/selected-node` on it: creates a
  PV `pvc-<claim uid>` with the requested capacity, the claim's access modes and
  volume mode, the class's reclaim policy and mount options,
  `csi: {driver: <provisioner>, volumeHandle: <unique>}`, node affinity to the
  selected node, a `claimRef` to the claim and `pv.kubernetes.io/provisioned-by`.
  The PV controller then binds the two and the scheduler binds the pod.
- Deletes a PV it made whose claim is gone (or was replaced) when its reclaim
  policy is Delete, as the external-provisioner does after deleting the disk.
  Retained PVs stay, Released, as they would in the cloud.

Handled provisioners: `--provisioners a,b` (e.g. ebs.csi.aws.com), or by default
every out-of-tree one, i.e. whatever nothing else on this cluster serves
(in-tree `kubernetes.io/*` names, `kubernetes.io/no-provisioner` among them, are
never touched). It polls the API once a second: a few list calls, negligible
on a test cluster, and simpler than watches. Standard library only.

    volume_provisioner.py --kubeconfig PATH [--provisioners LIST] [--interval SECONDS]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

from kubeapi import ApiError, Kube

ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_STAND_IN = "phoenix.local/provisioned-by-stand-in"  # marks the PVs made here, the only ones ever deleted
IDENTITY = "phoenix-local-volume-stand-in"

Obj = dict[str, Any]


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)


class Provisioner:
    def __init__(self, kube: Kube, provisioners: set[str] | None) -> None:
        self.kube = kube
        self.provisioners = provisioners

    def handles(self, provisioner: str) -> bool:
        if self.provisioners is not None:
            return provisioner in self.provisioners
        return bool(provisioner) and not provisioner.startswith("kubernetes.io/")

    def sync(self) -> None:
        classes = {c["metadata"]["name"]: c for c in self.kube.get("/apis/storage.k8s.io/v1/storageclasses")["items"]}
        claims = self.kube.get("/api/v1/persistentvolumeclaims")["items"]
        volumes = {v["metadata"]["name"]: v for v in self.kube.get("/api/v1/persistentvolumes")["items"]}
        for claim in claims:
            self.provision(claim, classes, volumes)
        claims_by_key = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in claims}
        for volume in volumes.values():
            self.reclaim(volume, claims_by_key)

    def provision(self, claim: Obj, classes: dict[str, Obj], volumes: dict[str, Obj]) -> None:
        meta, spec = claim["metadata"], claim["spec"]
        annotations = meta.get("annotations") or {}
        if spec.get("volumeName") or claim.get("status", {}).get("phase") == "Bound" or meta.get("deletionTimestamp"):
            return
        storage_class = classes.get(spec.get("storageClassName") or "")
        provisioner = annotations.get(ANN_STORAGE_PROVISIONER) or annotations.get(ANN_BETA_STORAGE_PROVISIONER)
        if storage_class is None or not provisioner or not self.handles(provisioner):
            return  # not (yet) handed to an external provisioner, or not ours
        node = annotations.get(ANN_SELECTED_NODE)
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
            return  # the scheduler has not picked a node yet
        name = f"pvc-{meta['uid']}"
        if name in volumes:
            return  # made already; the PV controller binds it
        volume = self.volume_for(claim, storage_class, provisioner, name, node)
        try:
            self.kube.create("/api/v1/persistentvolumes", volume)
        except ApiError as err:
            if err.status != 409:
                raise
            return
        size = volume["spec"]["capacity"]["storage"]
        where = f" on node {node}" if node else ""
        log(f"provisioned {name} ({size}, {provisioner}) for claim {meta['namespace']}/{meta['name']}{where}")
        self.event(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {name} (local stand-in for {provisioner})")

    def volume_for(self, claim: Obj, storage_class: Obj, provisioner: str, name: str, node: str | None) -> Obj:
        meta, spec = claim["metadata"], claim["spec"]
        parameters = storage_class.get("parameters") or {}
        volume_mode = spec.get("volumeMode") or "Filesystem"
        csi: Obj = {
            "driver": provisioner,
            "volumeHandle": f"local-{uuid.uuid4()}",
            "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": IDENTITY},
        }
        if volume_mode == "Filesystem":
            csi["fsType"] = parameters.get("csi.storage.k8s.io/fstype") or parameters.get("fsType") or "ext4"
        volume: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {ANN_PROVISIONED_BY: provisioner, ANN_STAND_IN: "true"}},
            "spec": {
                "capacity": {"storage": spec["resources"]["requests"]["storage"]},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "volumeMode": volume_mode,
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
                "storageClassName": storage_class["metadata"]["name"],
                "csi": csi,
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
            },
        }
        if storage_class.get("mountOptions"):
            volume["spec"]["mountOptions"] = storage_class["mountOptions"]
        if node:
            node_obj = self.kube.get_or_none(f"/api/v1/nodes/{node}") or {}
            hostname = (node_obj.get("metadata", {}).get("labels") or {}).get("kubernetes.io/hostname", node)
            term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [hostname]}]}
            volume["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [term]}}
        return volume

    def reclaim(self, volume: Obj, claims: dict[tuple[str, str], Obj]) -> None:
        meta, spec = volume["metadata"], volume["spec"]
        annotations = meta.get("annotations") or {}
        if annotations.get(ANN_STAND_IN) != "true" or not self.handles(annotations.get(ANN_PROVISIONED_BY, "")):
            return
        if spec.get("persistentVolumeReclaimPolicy") != "Delete" or meta.get("deletionTimestamp"):
            return
        ref = spec.get("claimRef") or {}
        claim = claims.get((ref.get("namespace", ""), ref.get("name", "")))
        if claim is not None and claim["metadata"]["uid"] == ref.get("uid"):
            return  # its claim is still there
        self.kube.delete(f"/api/v1/persistentvolumes/{meta['name']}")
        log(f"deleted {meta['name']}: claim {ref.get('namespace')}/{ref.get('name')} is gone, reclaim policy Delete")

    def event(self, claim: Obj, reason: str, message: str) -> None:
        meta = claim["metadata"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message,
            "type": "Normal",
            "source": {"component": IDENTITY},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self.kube.create(f"/api/v1/namespaces/{meta['namespace']}/events", event)
        except ApiError as err:
            log(f"could not record event on {meta['namespace']}/{meta['name']}: {err}")

    def run(self, interval: float) -> None:
        scope = ", ".join(sorted(self.provisioners)) if self.provisioners is not None else "every out-of-tree provisioner"
        log(f"volume provisioner stand-in started for {scope}")
        while True:
            try:
                self.sync()
            except (ApiError, OSError) as err:
                log(f"sync failed, retrying: {err}")
            time.sleep(interval)


def main() -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for a CSI driver's volume provisioner.")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--provisioners", help="comma-separated provisioner names (default: every out-of-tree one)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between syncs")
    args = parser.parse_args()
    provisioners = {p.strip() for p in args.provisioners.split(",") if p.strip()} if args.provisioners else None
    Provisioner(Kube.from_kubeconfig(args.kubeconfig), provisioners).run(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
