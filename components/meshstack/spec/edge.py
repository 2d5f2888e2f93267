"""The mesh's edges: ingress Gateways and egress to external services."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from meshstack.spec.base import DnsLabel, NonEmptyStr, PortNumber, Spec
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
    AUTO_PASSTHROUGH = "AUTO_PASSTHROUGH"
    """Forward untouched to the service the SNI names (``outbound_.<port>_.<subset>_.<host>``),
    with no route: what an east-west gateway exposes other networks' pods with."""


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


class GatewayApi(StrEnum):
    """Which API declares an ingress gateway and the routes bound to it."""

    ISTIO = "istio"
    """An Istio ``Gateway`` on a gateway deployment the install provides (``workload``);
    routes are ``VirtualService`` objects."""
    KUBERNETES = "kubernetes"
    """A Kubernetes Gateway API ``Gateway`` of class ``istio``: istiod deploys its proxy
    itself (Deployment, Service and service account ``<name>-istio`` in the gateway's
    namespace), routes are ``HTTPRoute`` objects, and the Gateway API's CRDs are installed
    before them (``MeshSpec.gateway_api``)."""


class Gateway(Spec):
    """An ingress gateway: its listeners (``servers``) and, for the Istio API, the gateway
    deployment it runs on.

    The routes are the VirtualServices (and canaries) that name it in ``gateways``; with
    ``api=GatewayApi.KUBERNETES`` they render as HTTPRoutes, and a route that uses what
    HTTPRoute cannot express is a validation error naming the field.
    """

    name: DnsLabel
    namespace: DnsLabel
    workload: DnsLabel = "istio-ingressgateway"
    """The Istio API's gateway deployment; a Gateway API gateway has its own."""
    servers: tuple[GatewayServer, ...]
    api: GatewayApi = GatewayApi.ISTIO

    @property
    def deployed_name(self) -> str:
        """The name istiod gives the Deployment, Service and service account of the proxy
        it deploys for a Gateway API gateway."""
        return f"{self.name}-istio"

    @property
    def deployed_account(self) -> str:
        """The service account of the proxy istiod deploys for a Gateway API gateway."""
        return self.deployed_name


class Resolution(StrEnum):
    DNS = "DNS"
    STATIC = "STATIC"
    NONE = "NONE"


class TlsOrigination(Spec):
    """The egress gateway opens the TLS connection to the external host.

    Callers then speak plain HTTP to the host inside the mesh, where their sidecar wraps it
    in mTLS to the egress gateway; the gateway sees every request (host, path, caller) and
    can authorize and log it before it leaves over TLS. Without origination the gateway
    only passes an opaque TLS stream through on its SNI.
    """

    port: PortNumber = 443
    """The external host's TLS port: where the gateway connects."""
    sni: Hostname | None = None
    """The server name the gateway sends; ``None``: the service's host."""
    ca_secret: NonEmptyStr | None = None
    """A secret in the egress gateway's namespace with the CA certificates that verify the
    external host (``credentialName``); ``None``: the proxy's system CAs."""


class ExternalService(Spec):
    """A host outside the mesh (a ServiceEntry), optionally reached through the egress gateway.

    With ``via_egress_gateway`` the renderer adds the Gateway, VirtualService
    and DestinationRule that force traffic for the host through the egress
    gateway workload, where it can be audited and controlled. With
    ``tls_origination`` the gateway also originates TLS, and ``allowed_callers`` restricts
    which workloads' identities it lets through.
    """

    name: DnsLabel
    namespace: DnsLabel
    hosts: tuple[Hostname, ...]
    ports: tuple[ServicePort, ...]
    """The ports callers use. With ``tls_origination`` they are plain HTTP ports."""
    resolution: Resolution = Resolution.DNS
    via_egress_gateway: bool = False
    egress_gateway: DnsLabel = "istio-egressgateway"
    tls_origination: TlsOrigination | None = None
    allowed_callers: tuple[NonEmptyStr, ...] = ()
    """Service accounts (``namespace/name``, or ``name`` in this namespace) the egress
    gateway lets through to this host, by their mTLS identity; empty: any caller."""
