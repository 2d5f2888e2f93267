"""Reusable pieces of stack content: the ingress of each sample app, common namespaces.

Stacks compose these with their own policy; everything here returns plain
spec models, so a stack can still adjust any field.
"""

from __future__ import annotations

from meshstack.spec.edge import (
    Gateway,
    GatewayApi,
    GatewayServer,
    GatewayWorkload,
    ServerProtocol,
)
from meshstack.spec.install import GatewayInstall, GatewayPort, GatewayRole, ServiceType
from meshstack.spec.traffic import Destination, HttpMatch, HttpRoute, StringMatch, VirtualService
from meshstack.spec.workloads import Namespace, SidecarInjection

INGRESS_GATEWAY = GatewayWorkload()
"""The ingress gateway the Istio install deploys (gateway chart, release istio-ingressgateway)."""

EGRESS_GATEWAY = GatewayWorkload(
    name="istio-egressgateway",
    namespace="istio-egress",
    selector={"istio": "egressgateway"},
    service_account="istio-egressgateway",
)
"""The optional egress gateway, for stacks that send external traffic through it."""


def ingress_gateway_install(**tuning: object) -> GatewayInstall:
    """The gateway chart release behind :data:`INGRESS_GATEWAY` (``tuning``: replicas,
    autoscaling, resources, service_type, revision...)."""
    return GatewayInstall.model_validate(
        {"name": INGRESS_GATEWAY.name, "namespace": INGRESS_GATEWAY.namespace, **tuning}
    )


def egress_gateway_install(**tuning: object) -> GatewayInstall:
    """The gateway chart release behind :data:`EGRESS_GATEWAY`: in-cluster only."""
    return GatewayInstall.model_validate(
        {
            "name": EGRESS_GATEWAY.name,
            "namespace": EGRESS_GATEWAY.namespace,
            "role": GatewayRole.EGRESS,
            "service_type": ServiceType.CLUSTER_IP,
            "ports": (
                GatewayPort(name="http2", port=80, target_port=80),
                GatewayPort(name="https", port=443, target_port=443),
            ),
            **tuning,
        }
    )


def sample_namespaces(
    injection: SidecarInjection = SidecarInjection.ENABLED, revision: str | None = None
) -> tuple[Namespace, ...]:
    """bookinfo, hipster-shop and the gateways' namespaces.

    The gateway chart deploys ``image: auto``, which only injection fills in:
    gateway namespaces always allow injection.
    """
    apps = tuple(
        Namespace(name=name, injection=injection, revision=revision)
        for name in ("bookinfo", "hipster-shop")
    )
    gateways = tuple(
        Namespace(name=name, injection=injection, revision=revision)
        if injection is not SidecarInjection.DISABLED
        else Namespace(name=name)
        for name in ("istio-ingress", "istio-egress")
    )
    return apps + gateways


def _servers(host: str, tls_secret: str | None) -> tuple[GatewayServer, ...]:
    if tls_secret is None:
        return (GatewayServer(port=80, hosts=(host,)),)
    return (
        GatewayServer(port=80, hosts=(host,), https_redirect=True),
        GatewayServer(
            port=443, protocol=ServerProtocol.HTTPS, hosts=(host,), tls_secret=tls_secret
        ),
    )


def bookinfo_ingress(
    host: str,
    *,
    namespace: str = "bookinfo",
    tls_secret: str | None = None,
    api: GatewayApi = GatewayApi.ISTIO,
) -> tuple[Gateway, VirtualService]:
    """Expose productpage's public paths (the UI, static files, login and the API), through
    an Istio gateway or (``api``) a Kubernetes Gateway API one."""
    gateway = Gateway(
        name="bookinfo-gateway", namespace=namespace, servers=_servers(host, tls_secret), api=api
    )
    to_productpage = (Destination(service="productpage", port=9080),)
    # One named route per kind of request, so an SLO can be kept per route (the page, its
    # static files, the sign-in, the API): the route's name is what Istio's metrics carry.
    paths = {
        "productpage": (HttpMatch(uri=StringMatch(exact="/productpage")),),
        "static": (HttpMatch(uri=StringMatch(prefix="/static")),),
        "sign-in": (
            HttpMatch(uri=StringMatch(exact="/login")),
            HttpMatch(uri=StringMatch(exact="/logout")),
        ),
        "api": (HttpMatch(uri=StringMatch(prefix="/api/v1/products")),),
    }
    route = VirtualService(
        name="bookinfo-ingress",
        namespace=namespace,
        hosts=(host,),
        gateways=(gateway.name,),
        http=tuple(
            HttpRoute(name=name, match=matches, destinations=to_productpage)
            for name, matches in paths.items()
        ),
    )
    return gateway, route


def boutique_ingress(
    host: str,
    *,
    namespace: str = "hipster-shop",
    tls_secret: str | None = None,
    api: GatewayApi = GatewayApi.ISTIO,
) -> tuple[Gateway, VirtualService]:
    """Send every request for ``host`` to the frontend (``api``: as for Bookinfo)."""
    gateway = Gateway(
        name="boutique-gateway", namespace=namespace, servers=_servers(host, tls_secret), api=api
    )
    route = VirtualService(
        name="boutique-ingress",
        namespace=namespace,
        hosts=(host,),
        gateways=(gateway.name,),
        http=(
            HttpRoute(name="frontend", destinations=(Destination(service="frontend", port=80),)),
        ),
    )
    return gateway, route
