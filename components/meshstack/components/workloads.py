"""The component that deploys service accounts, Services and Deployments (and, used
on its own, their namespaces)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from meshstack.components.namespaces import MeshNamespaces, MeshNamespacesArgs
from meshstack.components.registry import namespace_dependencies, register_object
from meshstack.render import render_workloads_list
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import check


@dataclass(frozen=True)
class MeshWorkloadsArgs:
    """``spec`` is validated before anything is registered.

    ``namespaces`` maps names to resources that already create them; when it is
    ``None`` the component creates its own (protected with ``protect_namespaces``).
    ``injectors`` are the istiod releases: a pod created before the injection webhook
    exists starts without its sidecar, so Deployments wait for them. ``crds`` install
    Istio's CRDs: a workload on virtual machines is Istio custom resources (WorkloadGroup,
    WorkloadEntry), which wait for them.
    """

    spec: MeshSpec
    protect_namespaces: bool = False
    provider: pulumi.ProviderResource | None = None
    namespaces: Mapping[str, pulumi.Resource] | None = None
    injectors: Sequence[pulumi.Resource] = ()
    crds: Sequence[pulumi.Resource] = ()


class MeshWorkloads(pulumi.ComponentResource):
    """Everything that runs: one child resource per rendered workload object."""

    namespaces: dict[str, pulumi.Resource]
    resources: list[pulumi.CustomResource]

    def __init__(
        self, name: str, args: MeshWorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check(args.spec)
        super().__init__("meshstack:index:MeshWorkloads", name, None, opts)
        if args.namespaces is None:
            own = MeshNamespaces(
                name,
                MeshNamespacesArgs(args.spec, args.protect_namespaces, args.provider),
                pulumi.ResourceOptions(parent=self),
            )
            self.namespaces = dict(own.by_name)
        else:
            self.namespaces = dict(args.namespaces)
        self.resources = []
        for obj in render_workloads_list(args.spec):
            if obj["kind"] == "Namespace":
                continue
            extra: list[pulumi.Resource] = []
            if obj["kind"] == "Deployment":
                extra = list(args.injectors)
            elif obj["apiVersion"].split("/")[0].endswith(".istio.io"):
                extra = list(args.crds)
            self.resources.append(
                register_object(
                    name,
                    obj,
                    parent=self,
                    depends_on=namespace_dependencies(obj, self.namespaces, extra),
                    provider=args.provider,
                )
            )
        self.register_outputs(
            {"namespaces": sorted(self.namespaces), "object_count": len(self.resources)}
        )
