"""The component that applies mesh policy: every Istio custom resource of a spec."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from meshstack.components.registry import namespace_dependencies, register_object
from meshstack.render import render_policy
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import check


@dataclass(frozen=True)
class MeshPolicyObjectsArgs:
    """``crds`` are the resources that install Istio's CRDs (the base chart): every
    custom resource depends on them, or the first ``up`` fails with "no matches
    for kind". ``namespaces`` maps names to the resources that create them."""

    spec: MeshSpec
    crds: Sequence[pulumi.Resource] = ()
    namespaces: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    provider: pulumi.ProviderResource | None = None


class MeshPolicyObjects(pulumi.ComponentResource):
    """Gateways, routing, destination policy, mTLS, authorization, JWT, egress, telemetry."""

    resources: list[pulumi.CustomResource]

    def __init__(
        self, name: str, args: MeshPolicyObjectsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check(args.spec)
        # The type token stays what it was when the class had another name: resources keep their URNs.
        super().__init__("meshstack:index:MeshPolicy", name, None, opts)
        objects = render_policy(args.spec)
        self.resources = [
            register_object(
                name,
                obj,
                parent=self,
                depends_on=namespace_dependencies(obj, args.namespaces, list(args.crds)),
                provider=args.provider,
            )
            for obj in objects
        ]
        kinds = Counter(obj["kind"] for obj in objects)
        self.register_outputs({"kinds": dict(kinds), "object_count": len(self.resources)})
