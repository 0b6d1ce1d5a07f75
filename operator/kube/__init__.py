"""The one place that talks to the Kubernetes API server."""

from whisperer.operator.kube.client import Connection, KubeClient, load_api_client, load_connection

__all__ = ["Connection", "KubeClient", "load_api_client", "load_connection"]
