"""Kubernetes for the deploy target: a namespace of a cluster reached through a kubeconfig context (cluster),
the manifests a deploy applies (manifests), how a Deployment or Argo Rollout stands (status), and applying,
watching, promoting, aborting and undoing them (rollout)."""

from devops_orchestra.deploy.kube.cluster import Cluster, KubeError, load_config
from devops_orchestra.deploy.kube.manifests import Manifest
from devops_orchestra.deploy.kube.status import WorkloadStatus

__all__ = ["Cluster", "KubeError", "Manifest", "WorkloadStatus", "load_config"]
