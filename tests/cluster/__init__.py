"""Tests of the local Kubernetes cluster (toolchain/cluster) and its `local_cluster` fixture."""
