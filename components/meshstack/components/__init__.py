"""Pulumi components: the thin shell that registers rendered objects."""

from meshstack.components.policy import MeshPolicy, MeshPolicyArgs
from meshstack.components.stack import MeshStack, MeshStackArgs
from meshstack.components.workloads import MeshWorkloads, MeshWorkloadsArgs

__all__ = [
    "MeshPolicy",
    "MeshPolicyArgs",
    "MeshStack",
    "MeshStackArgs",
    "MeshWorkloads",
    "MeshWorkloadsArgs",
]
