"""Register one rendered Kubernetes object as a Pulumi resource.

The engine and the Kubernetes provider know a resource only by its type token
(``kubernetes:<group>/<version>:<kind>``), its name and its inputs; the Python class
that registered it leaves no trace in the state. So every object goes through the
generic ``CustomResource`` (type token ``kubernetes:<apiVersion>:<kind>``) except the
core-group kinds, whose token spells the group ``core/v1`` where their apiVersion says
``v1``: those keep their typed classes.

Deployments deliberately do not use ``k8s.apps.v1.Deployment``: that class attaches
three aliases to pre-``apps/v1`` API versions (removed from Kubernetes in 1.16), and
the SDK computes every alias's URN through a chain of Outputs for every Deployment:
about a fifth of the whole program's time for a 1000-service mesh (``make bench``),
for stacks that never held such a resource. The registered type token, URN and
inputs are the same either way.

Names derive from the owning component's name so two stacks of components never collide.
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
}
"""Kinds whose type token is not ``kubernetes:<apiVersion>:<kind>`` (see the module doc)."""


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
