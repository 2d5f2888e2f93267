"""Register one rendered Kubernetes object as a Pulumi resource.

Core kinds get their typed pulumi-kubernetes classes (so previews diff them
field by field); Istio kinds become ``CustomResource``. Names derive from the
owning component's name so two stacks of components never collide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from meshstack.render.objects import K8sObject

_CORE_KINDS: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
}


def child_name(component: str, obj: K8sObject) -> str:
    """``<component>-<kind>-[<namespace>-]<name>``: unique per object, stable across runs."""
    meta = obj["metadata"]
    parts = [component, obj["kind"].lower()]
    if "namespace" in meta:
        parts.append(meta["namespace"])
    parts.append(meta["name"])
    return "-".join(parts)


def register_object(
    component: str,
    obj: K8sObject,
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    protect: bool = False,
    provider: pulumi.ProviderResource | None = None,
) -> pulumi.CustomResource:
    opts = pulumi.ResourceOptions(
        parent=parent, depends_on=list(depends_on), protect=protect, provider=provider
    )
    name = child_name(component, obj)
    body: dict[str, Any] = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    factory = _CORE_KINDS.get((obj["apiVersion"], obj["kind"]))
    if factory is not None:
        return factory(name, opts=opts, **body)
    return k8s.apiextensions.CustomResource(
        name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **body
    )


def namespace_dependencies(
    obj: K8sObject, namespaces: Mapping[str, pulumi.Resource], extra: Sequence[pulumi.Resource]
) -> list[pulumi.Resource]:
    """What an object must wait for: its namespace (when we create it) and ``extra``."""
    own = namespaces.get(obj["metadata"].get("namespace", ""))
    return [*extra, own] if own is not None else list(extra)
