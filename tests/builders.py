"""A small valid mesh to break in tests, one field at a time."""

from __future__ import annotations

from typing import Any

from meshstack.spec import (
    App,
    Destination,
    DestinationPolicy,
    HttpRoute,
    MeshPolicy,
    MeshSpec,
    Namespace,
    ServicePort,
    Subset,
    Version,
    VirtualService,
    Workload,
)


def shop(**policy: Any) -> MeshSpec:
    """Namespace ``shop``: web (v1) → api (v1, v2). ``policy`` replaces MeshPolicy fields."""
    app = App(
        name="shop",
        namespace="shop",
        workloads=(
            Workload(
                name="web",
                ports=(ServicePort(number=8080),),
                calls=("api",),
                versions=(Version(image="web:1"),),
            ),
            Workload(
                name="api",
                ports=(ServicePort(number=9090),),
                versions=(Version(name="v1", image="api:1"), Version(name="v2", image="api:2")),
            ),
        ),
    )
    defaults: dict[str, Any] = {
        "destination_policies": (
            DestinationPolicy(
                service="api",
                namespace="shop",
                subsets=(Subset(name="v1", version="v1"), Subset(name="v2", version="v2")),
            ),
        ),
    }
    defaults.update(policy)
    return MeshSpec(
        stack="test",
        namespaces=(Namespace(name="shop"), Namespace(name="istio-ingress")),
        apps=(app,),
        policy=MeshPolicy(**defaults),
    )


def route(*destinations: Destination, **fields: Any) -> VirtualService:
    """A VirtualService for ``api`` with one HTTP route to ``destinations``."""
    return VirtualService(
        name=fields.pop("name", "api"),
        namespace="shop",
        hosts=fields.pop("hosts", ("api",)),
        http=(HttpRoute(destinations=destinations, **fields),),
    )
