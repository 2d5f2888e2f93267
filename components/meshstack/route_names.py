"""The names Istio gives the proxy routes that send requests to each service.

A proxy's route name is what Envoy reports as ``xds.route_name``, the value of the
``route_name`` label meshstack adds to Istio's metrics for an SLO kept per route. So the
routes an SLO may group by or leave out are exactly these names, spelt as istiod spells
them (``pilot/pkg/networking/core/route``, and the Gateway API conversion):

* a VirtualService route: its ``name``, and ``<name>.<match name>`` for a named match;
* a route of a Gateway API gateway (an HTTPRoute rule): the rule's name, or
  ``<namespace>.<route>.<position>`` when it has none;
* a canary's routes: the names its VirtualService gives them;
* a sidecar's request to a service no mesh route covers: Istio's ``default`` route.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from meshstack.spec.edge import GatewayApi
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import item_path
from meshstack.spec.refs import ServiceKey, service_key, slash_key
from meshstack.spec.traffic import Canary, HttpRoute, VirtualService

DEFAULT_ROUTE = "default"
"""Istio's name for the route a sidecar takes to a service no VirtualService routes."""
CANDIDATE_ROUTE = "candidate"
STABLE_ROUTE = "stable"
SPLIT_ROUTE = "split"
"""The routes of a canary's VirtualService: a matched canary sends the matching requests
to the candidate and the rest to stable; a weighted one splits one route."""
MESH = "mesh"


@dataclass(frozen=True)
class ProxyRoute:
    """One proxy route to a service: the name Istio gives it, and the spec field behind it."""

    name: str
    where: str


def canary_route_names(canary: Canary) -> tuple[str, ...]:
    return (CANDIDATE_ROUTE, STABLE_ROUTE) if canary.match else (SPLIT_ROUTE,)


def _on_gateway_api(spec: MeshSpec, vs: VirtualService) -> bool:
    gateways = {ServiceKey(g.namespace, g.name): g.api for g in spec.policy.gateways}
    return any(
        gateways.get(slash_key(ref, vs.namespace)) is GatewayApi.KUBERNETES
        for ref in vs.gateways
        if ref != MESH
    )


def _names(spec: MeshSpec, vs: VirtualService, position: int, route: HttpRoute) -> list[str]:
    if _on_gateway_api(spec, vs):
        return [route.name or f"{vs.namespace}.{vs.name}.{position}"]
    base = route.name or ""
    named = [f"{base}.{m.name}" for m in route.match if m.name is not None]
    unnamed = not route.match or any(m.name is None for m in route.match)
    return ([base] if unnamed else []) + named


def _binds_mesh(vs: VirtualService) -> bool:
    return not vs.gateways or MESH in vs.gateways


def proxy_routes(spec: MeshSpec) -> dict[ServiceKey, list[ProxyRoute]]:
    """Every service's proxy routes, each with the field that makes it."""
    domain = spec.cluster_domain
    found: dict[ServiceKey, list[ProxyRoute]] = defaultdict(list)
    mesh_routed: set[ServiceKey] = set()
    for i, vs in enumerate(spec.policy.virtual_services):
        vs_path = item_path("policy.virtual_services", i, vs)
        if _binds_mesh(vs):
            mesh_routed.update(service_key(h, vs.namespace, domain) for h in vs.hosts)
        for j, route in enumerate(vs.http):
            targets = {service_key(d.service, vs.namespace, domain) for d in route.destinations}
            for name in _names(spec, vs, j, route):
                for key in targets:
                    found[key].append(ProxyRoute(name, f"{vs_path}.http[{j}]"))
    for i, canary in enumerate(spec.policy.canaries):
        key = service_key(canary.service, canary.namespace, domain)
        mesh_routed.add(key)
        path = item_path("policy.canaries", i, canary)
        found[key].extend(ProxyRoute(name, path) for name in canary_route_names(canary))
    for app in spec.apps:
        for workload in app.workloads:
            key = ServiceKey(app.namespace, workload.name)
            if workload.ports and key not in mesh_routed:
                found[key].append(
                    ProxyRoute(DEFAULT_ROUTE, f"apps[{app.name}].workloads[{workload.name}]")
                )
    return dict(found)
