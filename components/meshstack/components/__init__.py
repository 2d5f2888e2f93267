"""Pulumi components: the thin shell that registers rendered objects and Helm charts."""

from meshstack.components.addons import ObservabilityAddons, ObservabilityAddonsArgs
from meshstack.components.gateway_api import GatewayApi, GatewayApiArgs
from meshstack.components.install import IstioInstallation, IstioInstallationArgs
from meshstack.components.namespaces import MeshNamespaces, MeshNamespacesArgs
from meshstack.components.policy import MeshPolicy, MeshPolicyArgs
from meshstack.components.stack import MeshStack, MeshStackArgs
from meshstack.components.workloads import MeshWorkloads, MeshWorkloadsArgs

__all__ = [
    "GatewayApi",
    "GatewayApiArgs",
    "IstioInstallation",
    "IstioInstallationArgs",
    "MeshNamespaces",
    "MeshNamespacesArgs",
    "MeshPolicy",
    "MeshPolicyArgs",
    "MeshStack",
    "MeshStackArgs",
    "MeshWorkloads",
    "MeshWorkloadsArgs",
    "ObservabilityAddons",
    "ObservabilityAddonsArgs",
]
