#!/usr/bin/env python3
"""Reads one raw key from the local cluster's etcd, bypassing the API server.

    toolchain/cluster/etcd_get.py /registry/secrets/NAMESPACE/NAME   > value.bin
    toolchain/cluster/etcd_get.py --endpoint http://127.0.0.1:16379 KEY

Writes the stored bytes to stdout exactly as etcd holds them (for a Secret,
`k8s:enc:secretbox:v1:...` when encryption at rest works); exits 1 when the key
does not exist. Uses etcd's v3 JSON gateway (`POST /v3/kv/range`), which the
local etcd serves on loopback only, so no etcdctl build is needed. The endpoint
defaults to $PHOENIX_ETCD_ENDPOINT, else to the one in the cluster's state
($PHOENIX_CLUSTER_DIR or $PHOENIX_STATE_DIR/cluster, cluster.json).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.request
from pathlib import Path


def etcd_get(endpoint: str, key: str, timeout: float = 10) -> bytes | None:
    """The raw value stored under `key`, or None when there is none."""
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(
        endpoint.rstrip("/") + "/v3/kv/range", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        answer = json.loads(resp.read())
    kvs = answer.get("kvs") or []
    if not kvs:
        return None
    return base64.b64decode(kvs[0].get("value", ""))


def default_endpoint() -> str:
    if os.environ.get("PHOENIX_ETCD_ENDPOINT"):
        return os.environ["PHOENIX_ETCD_ENDPOINT"]
    cluster_dir = os.environ.get("PHOENIX_CLUSTER_DIR")
    if not cluster_dir:
        state = os.environ.get("PHOENIX_STATE_DIR") or str(Path(__file__).resolve().parents[2] / ".pulumi-state")
        cluster_dir = os.path.join(state, "cluster")
    info = json.loads((Path(cluster_dir) / "cluster.json").read_text())
    return str(info["etcd_endpoint"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("key", help="etcd key, e.g. /registry/secrets/default/my-secret")
    parser.add_argument("--endpoint", help="etcd client URL (default: the local cluster's)")
    args = parser.parse_args()
    value = etcd_get(args.endpoint or default_endpoint(), args.key)
    if value is None:
        print(f"etcd_get: no key {args.key}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
