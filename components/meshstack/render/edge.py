"""Gateways, ServiceEntries and the objects that steer egress through a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshstack.k8s import NETWORKING, SECURITY, K8sObject, drop_none, k8s_object
from meshstack.spec.edge import (
    ExternalService,
    Gateway,
    GatewayApi,
    GatewayServer,
    GatewayWorkload,
    ServerProtocol,
    TlsOrigination,
)
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, principal, service_account_key
from meshstack.spec.workloads import Protocol, ServicePort

_PORT_PROTOCOL = {
    Protocol.HTTP: "HTTP",
    Protocol.HTTP2: "HTTP2",
    Protocol.GRPC: "GRPC",
    Protocol.TCP: "TCP",
    Protocol.TLS: "TLS",
    Protocol.HTTPS: "HTTPS",
    Protocol.REDIS: "TCP",
}


def _server(server: GatewayServer) -> dict[str, Any]:
    name = f"{server.protocol.value.lower()}-{server.port}"
    out: dict[str, Any] = {
        "port": {"number": server.port, "name": name, "protocol": server.protocol.value},
        "hosts": list(server.hosts),
    }
    if server.protocol in (ServerProtocol.HTTPS, ServerProtocol.TLS):
        out["tls"] = drop_none({"mode": server.tls_mode.value, "credentialName": server.tls_secret})
    elif server.https_redirect:
        out["tls"] = {"httpsRedirect": True}
    return out


def gateway(gw: Gateway, spec: MeshSpec) -> K8sObject:
    workload = spec.gateway_workload(gw.workload)
    selector = dict(workload.selector) if workload is not None else {"app": gw.workload}
    return k8s_object(
        NETWORKING,
        "Gateway",
        gw.name,
        gw.namespace,
        spec={"selector": selector, "servers": [_server(s) for s in gw.servers]},
    )


def _se_port(port: ServicePort) -> dict[str, Any]:
    return {
        "number": port.number,
        "name": port.port_name,
        "protocol": _PORT_PROTOCOL[port.protocol],
    }


def service_entry(ext: ExternalService) -> K8sObject:
    """The host in the mesh's registry: the ports callers use, plus the TLS port the
    egress gateway connects to when it originates TLS."""
    ports = [_se_port(p) for p in ext.ports]
    if ext.tls_origination is not None:
        number = ext.tls_origination.port
        ports.append({"number": number, "name": f"https-{number}", "protocol": "HTTPS"})
    return k8s_object(
        NETWORKING,
        "ServiceEntry",
        ext.name,
        ext.namespace,
        spec={
            "hosts": list(ext.hosts),
            "ports": ports,
            "location": "MESH_EXTERNAL",
            "resolution": ext.resolution.value,
        },
    )


def egress_route_objects(ext: ExternalService, spec: MeshSpec) -> Iterator[K8sObject]:
    """Gateway + DestinationRule + VirtualService: sidecars → egress gateway → external host.

    Without TLS origination, TLS stays with the application: HTTPS ports pass through the
    egress gateway on SNI, HTTP ports are proxied as HTTP. With it, callers send HTTP on
    ``ports``; their sidecar reaches the gateway over mTLS (the gateway server and the
    subset are ``ISTIO_MUTUAL``), and the gateway sends each request on to the host's TLS
    port, where a DestinationRule for the host originates TLS (see :func:`origination_rule`).
    """
    workload = spec.gateway_workload(ext.egress_gateway)
    assert workload is not None, "validation requires the egress gateway to be declared"
    gateway_host = ServiceKey(workload.namespace, workload.name).fqdn(spec.cluster_domain)
    origination = ext.tls_origination
    host = ext.hosts[0]  # validation allows one host through a gateway
    name = f"{ext.name}-egress"
    servers = []
    mesh_rules: list[dict[str, Any]] = []
    gateway_rules: list[dict[str, Any]] = []
    tls_routes: list[dict[str, Any]] = []
    subset_ports: list[dict[str, Any]] = []
    for port in ext.ports:
        passthrough = origination is None and port.protocol in (Protocol.HTTPS, Protocol.TLS)
        if origination is not None:
            protocol, tls = "HTTPS", {"mode": "ISTIO_MUTUAL"}
            subset_ports.append(
                {"port": {"number": port.number}, "tls": {"mode": "ISTIO_MUTUAL", "sni": host}}
            )
        elif passthrough:
            protocol, tls = "TLS", {"mode": "PASSTHROUGH"}
        else:
            protocol, tls = "HTTP", None
        servers.append(
            drop_none(
                {
                    "port": {
                        "number": port.number,
                        "name": f"{protocol.lower()}-{port.number}",
                        "protocol": protocol,
                    },
                    "hosts": list(ext.hosts),
                    "tls": tls,
                }
            )
        )
        to_gateway = {
            "destination": {
                "host": gateway_host,
                "subset": ext.name,
                "port": {"number": port.number},
            }
        }
        external_port = origination.port if origination is not None else port.number
        to_external = {"destination": {"host": host, "port": {"number": external_port}}}
        if passthrough:
            sni = list(ext.hosts)
            tls_routes.append(
                {
                    "match": [{"gateways": ["mesh"], "port": port.number, "sniHosts": sni}],
                    "route": [to_gateway],
                }
            )
            tls_routes.append(
                {
                    "match": [{"gateways": [name], "port": port.number, "sniHosts": sni}],
                    "route": [to_external],
                }
            )
        else:
            mesh_rules.append(
                {"match": [{"gateways": ["mesh"], "port": port.number}], "route": [to_gateway]}
            )
            gateway_rules.append(
                {"match": [{"gateways": [name], "port": port.number}], "route": [to_external]}
            )
    subset: dict[str, Any] = {"name": ext.name}
    if subset_ports:
        subset["trafficPolicy"] = {"portLevelSettings": subset_ports}
    yield k8s_object(
        NETWORKING,
        "Gateway",
        name,
        ext.namespace,
        spec={"selector": dict(workload.selector), "servers": servers},
    )
    yield k8s_object(
        NETWORKING,
        "DestinationRule",
        name,
        ext.namespace,
        spec={"host": gateway_host, "subsets": [subset]},
    )
    yield k8s_object(
        NETWORKING,
        "VirtualService",
        name,
        ext.namespace,
        spec=drop_none(
            {
                "hosts": list(ext.hosts),
                "gateways": [name, "mesh"],
                "http": (mesh_rules + gateway_rules) or None,
                "tls": tls_routes or None,
            }
        ),
    )
    if origination is not None:
        yield origination_rule(ext, origination, workload)
    if ext.allowed_callers:
        yield egress_callers_policy(ext, workload, spec.trust_domain)


def origination_rule(
    ext: ExternalService, origination: TlsOrigination, workload: GatewayWorkload
) -> K8sObject:
    """The DestinationRule that makes the egress gateway speak TLS to the external host,
    sending ``sni`` and verifying the host's certificate.

    It lives with the gateway pods and selects them, so only the gateway originates TLS
    (a sidecar never applies it to a direct call) and a ``credentialName`` CA secret can be
    read there. Without ``ca_secret`` it names ``system``: Istio's own default, the proxy's
    system trust store, written out so that a reviewer sees the host is verified.
    """
    host = ext.hosts[0]
    tls = {"mode": "SIMPLE", "sni": origination.sni or host}
    if origination.ca_secret is None:
        tls["caCertificates"] = "system"
    else:
        tls["credentialName"] = origination.ca_secret
    return k8s_object(
        NETWORKING,
        "DestinationRule",
        f"{ext.namespace}-{ext.name}-tls-origination",
        workload.namespace,
        spec={
            "host": host,
            "workloadSelector": {"matchLabels": dict(workload.selector)},
            "trafficPolicy": {
                "portLevelSettings": [{"port": {"number": origination.port}, "tls": tls}]
            },
        },
    )


def egress_callers_policy(
    ext: ExternalService, workload: GatewayWorkload, trust_domain: str
) -> K8sObject:
    """An ALLOW policy on the egress gateway: only the named identities reach ``ext``'s
    hosts through it. It lives with the gateway pods, so its name carries the service's
    namespace to stay unique there."""
    principals = [
        principal(service_account_key(account, ext.namespace), trust_domain)
        for account in ext.allowed_callers
    ]
    hosts = [
        *ext.hosts,
        *(f"{h}:{p.number}" for h in ext.hosts for p in ext.ports),
    ]
    return k8s_object(
        SECURITY,
        "AuthorizationPolicy",
        f"{ext.namespace}-{ext.name}-egress",
        workload.namespace,
        spec={
            "selector": {"matchLabels": dict(workload.selector)},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": principals}}],
                    "to": [{"operation": {"hosts": hosts}}],
                }
            ],
        },
    )


ISTIOD_GATEWAY = "istiod-gateway"
"""The Istio Gateway through which a primary's east-west gateway exposes its istiod."""
ISTIOD_PORTS = {15012: 15012, 15017: 443}
"""Port exposed to remotes → istiod's Service port: its XDS and CA, its webhook."""


def istiod_routes(spec: MeshSpec) -> K8sObject | None:
    """In a primary serving remote clusters, the routes that take the TLS arriving at
    :data:`ISTIOD_GATEWAY` to istiod's Service, by port, without terminating it (the
    remotes' sidecars verify istiod's own certificate). ``None`` elsewhere."""
    install = spec.install
    if install is None or install.membership is None or not install.membership.serves_remotes:
        return None
    istiod = f"istiod.{install.namespace}.svc.{spec.cluster_domain}"
    return k8s_object(
        NETWORKING,
        "VirtualService",
        "istiod-vs",
        install.namespace,
        spec={
            "hosts": ["*"],
            "gateways": [ISTIOD_GATEWAY],
            "tls": [
                {
                    "match": [{"port": exposed, "sniHosts": ["*"]}],
                    "route": [{"destination": {"host": istiod, "port": {"number": target}}}],
                }
                for exposed, target in ISTIOD_PORTS.items()
            ],
        },
    )


def render_edge(spec: MeshSpec) -> Iterator[K8sObject]:
    for gw in spec.policy.gateways:
        if gw.api is GatewayApi.ISTIO:
            yield gateway(gw, spec)
    routes = istiod_routes(spec)
    if routes is not None:
        yield routes
    for ext in spec.policy.external_services:
        yield service_entry(ext)
        if ext.via_egress_gateway:
            yield from egress_route_objects(ext, spec)
