from cluster.fixtures import local_cluster

__all__ = ["local_cluster"]
