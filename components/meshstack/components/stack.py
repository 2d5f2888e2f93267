"""One component for a whole stack's mesh: workloads, then policy on top of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from meshstack.components.policy import MeshPolicy, MeshPolicyArgs
from meshstack.components.workloads import MeshWorkloads, MeshWorkloadsArgs
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import check


@dataclass(frozen=True)
class MeshStackArgs:
    spec: MeshSpec
    crds: Sequence[pulumi.Resource] = ()
    """Resources that install Istio's CRDs; policy waits for them."""
    protect_namespaces: bool = False
    provider: pulumi.ProviderResource | None = None


class MeshStack(pulumi.ComponentResource):
    """Validates the spec once, then creates ``<name>-workloads`` and ``<name>-policy``."""

    workloads: MeshWorkloads
    policy: MeshPolicy

    def __init__(
        self, name: str, args: MeshStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check(args.spec)
        super().__init__("meshstack:index:MeshStack", name, None, opts)
        self.workloads = MeshWorkloads(
            f"{name}-workloads",
            MeshWorkloadsArgs(args.spec, args.protect_namespaces, args.provider),
            pulumi.ResourceOptions(parent=self),
        )
        self.policy = MeshPolicy(
            f"{name}-policy",
            MeshPolicyArgs(args.spec, args.crds, self.workloads.namespaces, args.provider),
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {"namespaces": sorted(self.workloads.namespaces), "stack": args.spec.stack}
        )
