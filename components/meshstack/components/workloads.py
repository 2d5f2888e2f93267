"""The component that deploys namespaces, service accounts, Services and Deployments."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from meshstack.components.registry import namespace_dependencies, register_object
from meshstack.render import render_workloads_list
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import check


@dataclass(frozen=True)
class MeshWorkloadsArgs:
    """``spec`` is validated before anything is registered.

    ``protect_namespaces`` guards against the classic accident: deleting a
    namespace deletes everything in it. Turn it on in prod.
    """

    spec: MeshSpec
    protect_namespaces: bool = False
    provider: pulumi.ProviderResource | None = None


class MeshWorkloads(pulumi.ComponentResource):
    """Everything that runs: one child resource per rendered workload object."""

    namespaces: dict[str, pulumi.Resource]
    resources: list[pulumi.CustomResource]

    def __init__(
        self, name: str, args: MeshWorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check(args.spec)
        super().__init__("meshstack:index:MeshWorkloads", name, None, opts)
        self.namespaces = {}
        self.resources = []
        for obj in render_workloads_list(args.spec):
            is_namespace = obj["kind"] == "Namespace"
            resource = register_object(
                name,
                obj,
                parent=self,
                depends_on=[] if is_namespace else namespace_dependencies(obj, self.namespaces, []),
                protect=is_namespace and args.protect_namespaces,
                provider=args.provider,
            )
            if is_namespace:
                self.namespaces[obj["metadata"]["name"]] = resource
            self.resources.append(resource)
        self.register_outputs(
            {"namespaces": sorted(self.namespaces), "object_count": len(self.resources)}
        )
