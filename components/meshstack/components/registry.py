"""Register one rendered Kubernetes object as a Pulumi resource.

The engine and the Kubernetes provider know a resource only by what the program
sends: its type token (``kubernetes:<group>/<version>:<kind>``), name, parent,
options, provider plugin version and input properties. The Python class that sent
them leaves no trace in the state. So meshstack registers every object as a plain
``pulumi.CustomResource`` with exactly what pulumi-kubernetes' generated classes
would send (same token, inputs and plugin version; ``tests/test_components.py``
checks the wire form) without paying for those classes:

* the generated classes take their inputs as typed argument objects that the SDK
  unpacks property by property, and ``Deployment`` attaches three aliases to API
  versions Kubernetes removed in 1.16, whose URNs the SDK computes through a chain
  of Outputs for every Deployment;
* together that was over a third of the program's time for a 1000-service mesh
  (``make bench``: 12.4 s → 8.0 s), for stacks that never held such a resource; with
  the real engine those classes add 13 % to a 500-service ``pulumi preview`` and 42 %
  (19 s) to a 1000-service one (L3, README's Performance).

Names derive from the owning component's name so two stacks of components never collide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
from pulumi_kubernetes import _utilities as kubernetes_sdk

from meshstack.k8s import K8sObject, type_token

KUBERNETES_PLUGIN_VERSION: str = kubernetes_sdk.get_version()  # type: ignore[no-untyped-call]
"""The provider plugin version the installed pulumi-kubernetes SDK asks the engine for
(its own semver spelling of the package version), as its generated classes send it."""


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
    secret_outputs: Sequence[str] = (),
) -> pulumi.CustomResource:
    """``obj`` as one resource; ``secret_outputs`` names the outputs the engine keeps
    encrypted (a Secret's ``data`` and ``stringData``, as the generated class asks)."""
    opts = pulumi.ResourceOptions(
        parent=parent,
        depends_on=list(depends_on),
        protect=protect,
        provider=provider,
        version=KUBERNETES_PLUGIN_VERSION,
        additional_secret_outputs=list(secret_outputs) or None,
    )
    return pulumi.CustomResource(type_token(obj), child_name(component, obj), dict(obj), opts)


def namespace_dependencies(
    obj: K8sObject, namespaces: Mapping[str, pulumi.Resource], extra: Sequence[pulumi.Resource]
) -> list[pulumi.Resource]:
    """What an object must wait for: its namespace (when we create it) and ``extra``."""
    own = namespaces.get(obj["metadata"].get("namespace", ""))
    return [*extra, own] if own is not None else list(extra)
