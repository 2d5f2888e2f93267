"""The Gateway API objects a spec renders: Gateways (ingress, and the waypoints of ambient
namespaces), the HTTPS redirect route, ReferenceGrants, and the HTTPRoutes of
:mod:`meshstack.gateway_api.translation`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from meshstack.gateway_api.translation import (
    GATEWAY_API,
    GATEWAY_API_GROUP,
    ISTIO_GATEWAY_CLASS,
    kubernetes_gateway,
    listeners,
    translations,
)
from meshstack.k8s import K8sObject, drop_none, k8s_object
from meshstack.spec.edge import Gateway, GatewayApi, ServerProtocol
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey


def _route_namespaces(spec: MeshSpec) -> dict[ServiceKey, set[str]]:
    """Gateway → the namespaces of the routes attached to it."""
    found: dict[ServiceKey, set[str]] = defaultdict(set)
    for vs in spec.policy.virtual_services:
        for ref in vs.gateways:
            gw = kubernetes_gateway(spec, ref, vs.namespace)
            if gw is not None:
                found[ServiceKey(gw.namespace, gw.name)].add(vs.namespace)
    return found


def gateway(gw: Gateway, route_namespaces: set[str]) -> K8sObject:
    """The Gateway, its listeners admitting routes from exactly the namespaces that have
    some (its own always: the HTTPS redirect routes live there)."""
    others = sorted(route_namespaces - {gw.namespace})
    allowed: dict[str, Any] = (
        {"namespaces": {"from": "Same"}}
        if not others
        else {
            "namespaces": {
                "from": "Selector",
                "selector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": sorted({gw.namespace, *others}),
                        }
                    ]
                },
            }
        }
    )
    out = []
    for listener in listeners(gw):
        server = listener.server
        item: dict[str, Any] = drop_none(
            {
                "name": listener.name,
                "hostname": listener.hostname,
                "port": server.port,
                "protocol": server.protocol.value,
            }
        )
        if server.protocol is ServerProtocol.HTTPS:
            item["tls"] = {
                "mode": "Terminate",
                "certificateRefs": [{"kind": "Secret", "name": server.tls_secret}],
            }
        item["allowedRoutes"] = allowed
        out.append(item)
    return k8s_object(
        GATEWAY_API,
        "Gateway",
        gw.name,
        gw.namespace,
        spec={"gatewayClassName": ISTIO_GATEWAY_CLASS, "listeners": out},
    )


def https_redirect_route(gw: Gateway) -> K8sObject | None:
    """``<gateway>-https-redirect``: the HTTP listeners of redirecting servers answer every
    request with a 301 to the same URL over HTTPS."""
    redirecting = [listener for listener in listeners(gw) if listener.server.https_redirect]
    if not redirecting:
        return None
    hostnames = sorted({x.hostname for x in redirecting if x.hostname is not None})
    return k8s_object(
        GATEWAY_API,
        "HTTPRoute",
        f"{gw.name}-https-redirect",
        gw.namespace,
        spec=drop_none(
            {
                "parentRefs": [{"name": gw.name, "sectionName": x.name} for x in redirecting],
                "hostnames": hostnames or None,
                "rules": [
                    {
                        "filters": [
                            {
                                "type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301},
                            }
                        ]
                    }
                ],
            }
        ),
    )


def reference_grants(foreign: dict[str, set[ServiceKey]]) -> Iterator[K8sObject]:
    """Per (Service namespace, route namespace): a ReferenceGrant that lets that
    namespace's HTTPRoutes send to exactly the Services they name, nothing else."""
    by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    for route_namespace, keys in foreign.items():
        for key in keys:
            by_pair[(key.namespace, route_namespace)].add(key.name)
    for (namespace, route_namespace), names in sorted(by_pair.items()):
        yield k8s_object(
            "gateway.networking.k8s.io/v1beta1",
            "ReferenceGrant",
            f"httproutes-from-{route_namespace}",
            namespace,
            spec={
                "from": [
                    {"group": GATEWAY_API_GROUP, "kind": "HTTPRoute", "namespace": route_namespace}
                ],
                "to": [{"group": "", "kind": "Service", "name": n} for n in sorted(names)],
            },
        )


WAYPOINT_CLASS = "istio-waypoint"
HBONE_PORT = 15008


def waypoint_gateway(namespace: str, name: str) -> K8sObject:
    """An ambient namespace's waypoint: istiod deploys it (service account ``name``) and
    it takes the services' traffic over HBONE."""
    return k8s_object(
        GATEWAY_API,
        "Gateway",
        name,
        namespace,
        labels={"istio.io/waypoint-for": "service"},
        spec={
            "gatewayClassName": WAYPOINT_CLASS,
            "listeners": [{"name": "mesh", "port": HBONE_PORT, "protocol": "HBONE"}],
        },
    )


def render_gateway_api(spec: MeshSpec) -> Iterator[K8sObject]:
    """Waypoints, Gateways, their HTTPS redirect routes, HTTPRoutes and ReferenceGrants."""
    if not spec.uses_gateway_api():
        return
    for namespace, name in spec.waypoints():
        yield waypoint_gateway(namespace, name)
    namespaces = _route_namespaces(spec)
    for gw in spec.policy.gateways:
        if gw.api is GatewayApi.KUBERNETES:
            yield gateway(gw, namespaces.get(ServiceKey(gw.namespace, gw.name), set()))
            redirect = https_redirect_route(gw)
            if redirect is not None:
                yield redirect
    foreign: dict[str, set[ServiceKey]] = defaultdict(set)
    for translation in translations(spec):
        yield translation.http_route()
        foreign[translation.vs.namespace] |= translation.foreign_services
    yield from reference_grants(foreign)
