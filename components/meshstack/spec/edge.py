"""The mesh's edges: ingress Gateways and egress to external services."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from meshstack.spec.base import DnsLabel, PortNumber, Spec
from meshstack.spec.formats import GatewayHost, Hostname
from meshstack.spec.workloads import ServicePort


class ServerProtocol(StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TLS = "TLS"
    TCP = "TCP"


class TlsMode(StrEnum):
    """How a gateway server terminates TLS."""

    SIMPLE = "SIMPLE"
    """Terminate TLS with the certificate in ``tls_secret``."""
    MUTUAL = "MUTUAL"
    """Terminate TLS and require client certificates."""
    PASSTHROUGH = "PASSTHROUGH"
    """Route on SNI and forward the encrypted stream untouched."""


class GatewayServer(Spec):
    """One listener of a Gateway: port, protocol, hosts and TLS."""

    port: PortNumber
    protocol: ServerProtocol = ServerProtocol.HTTP
    hosts: tuple[GatewayHost, ...] = ("*",)
    tls_mode: TlsMode = TlsMode.SIMPLE
    tls_secret: str | None = None
    """Kubernetes secret (in the gateway's namespace) holding the certificate."""
    https_redirect: bool = False
    """For HTTP servers: answer with a 301 to HTTPS."""


class GatewayWorkload(Spec):
    """A gateway deployment installed by the Istio install (selector, identity)."""

    name: DnsLabel = "istio-ingressgateway"
    namespace: DnsLabel = "istio-ingress"
    selector: dict[str, str] = Field(default_factory=lambda: {"istio": "ingressgateway"})
    service_account: DnsLabel = "istio-ingressgateway"


class Gateway(Spec):
    """An Istio Gateway bound to a gateway workload."""

    name: DnsLabel
    namespace: DnsLabel
    workload: DnsLabel = "istio-ingressgateway"
    servers: tuple[GatewayServer, ...]


class Resolution(StrEnum):
    DNS = "DNS"
    STATIC = "STATIC"
    NONE = "NONE"


class ExternalService(Spec):
    """A host outside the mesh (a ServiceEntry), optionally reached through the egress gateway.

    With ``via_egress_gateway`` the renderer adds the Gateway, VirtualService
    and DestinationRule that force traffic for the host through the egress
    gateway workload, where it can be audited and controlled.
    """

    name: DnsLabel
    namespace: DnsLabel
    hosts: tuple[Hostname, ...]
    ports: tuple[ServicePort, ...]
    resolution: Resolution = Resolution.DNS
    via_egress_gateway: bool = False
    egress_gateway: DnsLabel = "istio-egressgateway"
