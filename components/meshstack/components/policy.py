"""The component that applies mesh policy: every Istio custom resource of a spec, and
the SLOs' ``PrometheusRule`` objects when the Prometheus Operator evaluates them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from meshstack.components.registry import namespace_dependencies, register_object
from meshstack.render import render_policy
from meshstack.render.slo import prometheus_rules
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
    """Gateways, routing, destination policy, mTLS, authorization, JWT, egress, telemetry;
    SLO rules for the Operator's Prometheus."""

    resources: list[pulumi.CustomResource]

    def __init__(
        self, name: str, args: MeshPolicyObjectsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check(args.spec)
        # The type token stays what it was when the class had another name: resources keep their URNs.
        super().__init__("meshstack:index:MeshPolicy", name, None, opts)
        istio_objects = render_policy(args.spec)
        # A PrometheusRule waits for its namespace only: its CRD is the Operator's.
        rules = prometheus_rules(args.spec.policy)
        objects = [*istio_objects, *rules]
        self.resources = [
            register_object(
                name,
                obj,
                parent=self,
                depends_on=namespace_dependencies(obj, args.namespaces, crds),
                provider=args.provider,
            )
            for objs, crds in ((istio_objects, list(args.crds)), (rules, []))
            for obj in objs
        ]
        kinds = Counter(obj["kind"] for obj in objects)
        self.register_outputs({"kinds": dict(kinds), "object_count": len(self.resources)})
