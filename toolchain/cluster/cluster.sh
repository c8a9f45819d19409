#!/usr/bin/env bash
# The local Kubernetes cluster that tests and the default "deploy dev" job use:
# a real control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler; Kubernetes and etcd versions from toolchain/versions.env) on
# 127.0.0.1, with kwok playing the kubelets of 3 fake nodes (one per zone) and
# volume_provisioner.py playing the cloud's CSI driver. No Docker, no network.
#
#   toolchain/install.sh cluster           build the binaries first (once)
#   toolchain/cluster/cluster.sh start     start, or no-op when running; waits until
#                                          the API is ready, nodes are Ready and the
#                                          default ServiceAccount exists (< 60 s)
#   toolchain/cluster/cluster.sh stop [--wipe]   stop what start started; --wipe also
#                                          deletes the state (etcd data, PKI, keys)
#   toolchain/cluster/cluster.sh status [--json] exit 0 up, 3 stopped, 1 partly up
#   eval "$(toolchain/cluster/cluster.sh env)"   exports KUBECONFIG, PHOENIX_ETCD_ENDPOINT,
#                                          PHOENIX_CLUSTER_DIR (`env --json`: all facts)
#   toolchain/cluster/cluster.sh logs [COMPONENT]  log files, or one component's tail
#   toolchain/cluster/etcd_get.py KEY      raw bytes of an etcd key (e.g. a Secret's
#                                          /registry/secrets/NS/NAME, to see it encrypted)
#
# State lives in $PHOENIX_CLUSTER_DIR (default $PHOENIX_STATE_DIR/cluster):
# cluster.json (ports, endpoints), kubeconfig (admin, certificates embedded),
# pki/, encryption-config.yaml (per-cluster secretbox key, 0600), etcd/,
# logs/COMPONENT.log, run/COMPONENT.pid. Ports are fixed when the directory is
# first created: API server 16443 and etcd 16379 (+1 peer, +2 controller-manager
# healthz, +3 scheduler healthz), or PHOENIX_CLUSTER_API_PORT /
# PHOENIX_CLUSTER_ETCD_PORT. PHOENIX_CLUSTER_NODES (1-3, default 3) and
# PHOENIX_CLUSTER_PROVISIONERS (comma list of CSI driver names the stand-in
# provisions for; default: every provisioner nothing else serves) likewise.
# Every start also applies PHOENIX_CLUSTER_MANIFESTS (colon-separated YAML files;
# default toolchain/cluster/prometheus-operator-stand-in-crds.yaml, the schemaless stand-ins for the
# Prometheus Operator's CRDs) and waits for their CRDs to be Established.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../env.sh
source "$here/../env.sh"
exec python3 "$here/clusterctl.py" "$@"
