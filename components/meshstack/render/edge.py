"""Gateways, ServiceEntries and the objects that steer egress through a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshstack.render.objects import NETWORKING, K8sObject, drop_none, k8s_object
from meshstack.spec.edge import ExternalService, Gateway, GatewayServer, ServerProtocol
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey
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
    selector = next(
        (dict(w.selector) for w in spec.gateway_workloads if w.name == gw.workload),
        {"app": gw.workload},
    )
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
    return k8s_object(
        NETWORKING,
        "ServiceEntry",
        ext.name,
        ext.namespace,
        spec={
            "hosts": list(ext.hosts),
            "ports": [_se_port(p) for p in ext.ports],
            "location": "MESH_EXTERNAL",
            "resolution": ext.resolution.value,
        },
    )


def egress_route_objects(ext: ExternalService, spec: MeshSpec) -> Iterator[K8sObject]:
    """Gateway + DestinationRule + VirtualService: sidecars → egress gateway → external host.

    TLS origination stays with the application: HTTPS ports pass through the
    egress gateway on SNI, HTTP ports are proxied as HTTP.
    """
    workload = next(w for w in spec.gateway_workloads if w.name == ext.egress_gateway)
    gateway_host = ServiceKey(workload.namespace, workload.name).fqdn(spec.cluster_domain)
    name = f"{ext.name}-egress"
    servers = []
    mesh_rules: list[dict[str, Any]] = []
    gateway_rules: list[dict[str, Any]] = []
    tls_routes: list[dict[str, Any]] = []
    for port in ext.ports:
        passthrough = port.protocol in (Protocol.HTTPS, Protocol.TLS)
        server = {
            "port": {
                "number": port.number,
                "name": f"{'tls' if passthrough else 'http'}-{port.number}",
                "protocol": "TLS" if passthrough else "HTTP",
            },
            "hosts": list(ext.hosts),
        }
        if passthrough:
            server["tls"] = {"mode": "PASSTHROUGH"}
        servers.append(server)
        to_gateway = {
            "destination": {
                "host": gateway_host,
                "subset": ext.name,
                "port": {"number": port.number},
            }
        }
        to_external = {"destination": {"host": ext.hosts[0], "port": {"number": port.number}}}
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
        spec={"host": gateway_host, "subsets": [{"name": ext.name}]},
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


def render_edge(spec: MeshSpec) -> Iterator[K8sObject]:
    for gw in spec.policy.gateways:
        yield gateway(gw, spec)
    for ext in spec.policy.external_services:
        yield service_entry(ext)
        if ext.via_egress_gateway:
            yield from egress_route_objects(ext, spec)
