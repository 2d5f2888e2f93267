"""The component that creates a stack's namespaces, before anything that lives in them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from meshstack.components.registry import register_object
from meshstack.render.workloads import namespace_object
from meshstack.spec.mesh import MeshSpec


@dataclass(frozen=True)
class MeshNamespacesArgs:
    """``protect`` guards against the classic accident: deleting a namespace deletes
    everything in it. Turn it on in prod."""

    spec: MeshSpec
    protect: bool = False
    provider: pulumi.ProviderResource | None = None


class MeshNamespaces(pulumi.ComponentResource):
    """One Namespace per ``spec.namespaces`` entry, labelled for sidecar injection."""

    by_name: dict[str, pulumi.Resource]

    def __init__(
        self, name: str, args: MeshNamespacesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshstack:index:MeshNamespaces", name, None, opts)
        self.by_name = {
            ns.name: register_object(
                name,
                namespace_object(ns),
                parent=self,
                protect=args.protect,
                provider=args.provider,
            )
            for ns in args.spec.namespaces
        }
        self.register_outputs({"namespaces": sorted(self.by_name)})
