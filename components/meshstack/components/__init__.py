"""Pulumi components: the thin shell that registers rendered objects and Helm charts."""

from meshstack.components.addons import ObservabilityAddons, ObservabilityAddonsArgs
from meshstack.components.crd_layer import CrdLayerArgs, MeshCrdLayer
from meshstack.components.gateway_api import GatewayApiCrdInstall, GatewayApiCrdInstallArgs
from meshstack.components.install import IstioInstallation, IstioInstallationArgs
from meshstack.components.namespaces import MeshNamespaces, MeshNamespacesArgs
from meshstack.components.policy import MeshPolicyObjects, MeshPolicyObjectsArgs
from meshstack.components.stack import MeshStack, MeshStackArgs
from meshstack.components.workloads import MeshWorkloads, MeshWorkloadsArgs

__all__ = [
    "CrdLayerArgs",
    "GatewayApiCrdInstall",
    "GatewayApiCrdInstallArgs",
    "IstioInstallation",
    "IstioInstallationArgs",
    "MeshCrdLayer",
    "MeshNamespaces",
    "MeshNamespacesArgs",
    "MeshPolicyObjects",
    "MeshPolicyObjectsArgs",
    "MeshStack",
    "MeshStackArgs",
    "MeshWorkloads",
    "MeshWorkloadsArgs",
    "ObservabilityAddons",
    "ObservabilityAddonsArgs",
]
