"""The Istio install: which charts, at which version, from where, with which values.

Istio ships as Helm charts — ``base`` (CRDs and the default-revision webhook),
``istiod`` (one release per control-plane revision), ``gateway`` (one release
per ingress or egress gateway) and optionally ``cni``. Every chart of one
install is at one Istio version; a control-plane canary is a second istiod
*revision*, which is the only thing allowed to run another version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from meshstack.spec.base import DnsLabel, FieldCheck, NonEmptyStr, PortNumber, PositiveInt, Spec
from meshstack.spec.formats import IpAddress, NetworkAddress
from meshstack.spec.observability import OutboundPolicy
from meshstack.spec.workloads import Resources

ISTIO_VERSION = "1.30.4"
"""The pinned Istio release: the newest stable one at the date of the newest
``istio.io/istio`` snapshot the Go module proxy serves (2026-08-27)."""
ISTIO_IMAGE_HUB = "docker.io/istio"
"""Where Istio's release images are published."""
JWKS_BLOCKED_CIDRS = ("127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10")
"""Loopback and link-local (where cloud metadata services answer)."""

OFFICIAL_ISTIO_CHARTS = "https://istio-release.storage.googleapis.com/charts"
"""Istio's official Helm chart repository (chart names: base, istiod, gateway, cni)."""

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
_REVISION = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

IstioVersion = Annotated[
    str,
    FieldCheck(
        "an Istio release version such as '1.30.4' (major.minor.patch)",
        lambda v: bool(_SEMVER.match(v)),
    ),
]
RevisionName = Annotated[
    str,
    FieldCheck(
        "a revision name: lowercase letters, digits and '-' (no dots), such as '1-30-4' "
        "or 'canary', and not 'default' (that name belongs to the default revision tag)",
        lambda v: bool(_REVISION.match(v)) and v != "default",
    ),
]

StackName = Annotated[
    str,
    FieldCheck(
        "a Pulumi stack name of this project: letters, digits, '-', '_' and '.' "
        "(at most 100), such as 'dev-crds'",
        lambda v: bool(_STACK_NAME.match(v)),
    ),
]

RESOURCE_SCOPE_SINCE = "1.28.0"
"""The first Istio release whose charts split their objects by ``global.resourceScope``
(``cluster``: CRDs and the default revision's validator; ``namespace``: the rest), which
is how a CRD layer stack and its mesh stack share the base chart."""


def version_key(version: str) -> tuple[int, int, int]:
    """``'1.30.4'`` → ``(1, 30, 4)`` for ordering; pre-release suffixes are ignored."""
    major, minor, patch = version.split("-", 1)[0].split(".")
    return int(major), int(minor), int(patch)


class ChartRepository(Spec):
    """A classic Helm chart repository (``index.yaml`` over HTTPS)."""

    kind: Literal["repository"] = "repository"
    url: NonEmptyStr = OFFICIAL_ISTIO_CHARTS


class OciRegistry(Spec):
    """Charts pushed to an OCI registry: each chart is ``<url>/<chart>`` (``oci://...``)."""

    kind: Literal["oci"] = "oci"
    url: NonEmptyStr


class ChartLayout(StrEnum):
    """How a local directory arranges the charts."""

    RELEASE = "release"
    """``<path>/base``, ``<path>/istiod``, ``<path>/gateway``, ``<path>/cni``: a mirror of
    the released charts (``helm pull --untar`` into one folder)."""
    ISTIO_SOURCE = "istio-source"
    """Istio's own source tree under ``manifests/charts`` (``istio-control/istio-discovery``
    for istiod, ``istio-cni`` for cni): what the ``istio.io/istio`` Go module carries."""


VERSION_PLACEHOLDER = "{version}"


class LocalCharts(Spec):
    """Charts already on disk: air-gapped clusters mirror them. One directory holds one
    Istio version; a ``path`` containing ``{version}`` (``/mirror/istio/{version}``) names
    one directory per version, so a control-plane canary can run another release."""

    kind: Literal["local"] = "local"
    path: NonEmptyStr
    layout: ChartLayout = ChartLayout.RELEASE


ChartSource = Annotated[ChartRepository | OciRegistry | LocalCharts, Field(discriminator="kind")]


class Autoscaling(Spec):
    """A HorizontalPodAutoscaler range (the charts create it)."""

    min_replicas: PositiveInt = 1
    max_replicas: PositiveInt = 5
    target_cpu_percent: PositiveInt = 80


class TracingProvider(Spec):
    """An OpenTelemetry tracing backend declared in mesh config ``extensionProviders``;
    Telemetry resources refer to it by ``name``."""

    name: DnsLabel = "otel-tracing"
    service: NonEmptyStr = "jaeger-collector.istio-system.svc.cluster.local"
    port: PortNumber = 4317


class AccessLogEncoding(StrEnum):
    TEXT = "TEXT"
    JSON = "JSON"


class MeshConfig(Spec):
    """The mesh-wide settings istiod serves to every proxy (istiod chart ``meshConfig``)."""

    access_log_file: str | None = "/dev/stdout"
    """Where Envoy writes access logs; ``None`` turns the built-in access log off."""
    access_log_encoding: AccessLogEncoding = AccessLogEncoding.TEXT
    tracing: TracingProvider | None = None
    outbound_traffic_policy: OutboundPolicy = OutboundPolicy.ALLOW_ANY
    """``REGISTRY_ONLY`` blocks calls to hosts the mesh does not know (use ServiceEntries)."""
    default_proxy_resources: Resources | None = None
    """Requests and limits of every injected sidecar (``global.proxy.resources``)."""


class ControlPlane(Spec):
    """One istiod release. ``revision=None`` is the revision-less default control plane;
    a named revision (``istiod-<revision>``) is how a control-plane canary runs beside it."""

    revision: RevisionName | None = None
    version: IstioVersion | None = None
    """Defaults to the install's version. Only a named revision may differ (the canary
    or the revision being retired), and never be newer than the install (its CRDs)."""
    replicas: PositiveInt = 1
    autoscaling: Autoscaling | None = None
    resources: Resources | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    """Escape hatch: any other istiod chart value, merged over what meshstack sets."""

    @property
    def name(self) -> str:
        """The key used in field paths and resource names: the revision, or ``default``."""
        return self.revision or "default"


ISTIOD_TYPED_KEYS: Mapping[str, str] = {
    "revision": "ControlPlane.revision",
    "revisionTags": "IstioInstall.revision_tags",
    "defaultRevision": "IstioInstall.default_revision",
    "replicaCount": "ControlPlane.replicas",
    "autoscaleEnabled": "ControlPlane.autoscaling",
    "autoscaleMin": "ControlPlane.autoscaling",
    "autoscaleMax": "ControlPlane.autoscaling",
    "cpu.targetAverageUtilization": "ControlPlane.autoscaling",
    "resources": "ControlPlane.resources",
    "meshConfig": "IstioInstall.mesh_config (and MeshSpec.trust_domain)",
    "global.istioNamespace": "IstioInstall.namespace",
    "global.hub": "IstioInstall.image_hub",
    "global.tag": "IstioInstall.version (or ControlPlane.version)",
    "global.proxy.resources": "MeshConfig.default_proxy_resources",
    "global.profile": "IstioInstall.ambient",
    "env.BLOCKED_CIDRS_IN_JWKS_URIS": "IstioInstall.jwks_blocked_cidrs",
    "base.validationFailurePolicy": "IstioInstall.validation_failure_policy",
    "cni.enabled": "IstioInstall.cni (or ambient)",
}
"""The istiod chart values that typed fields set (dotted chart key → the field): the one
list of them. Validation refuses a ``ControlPlane.values`` entry at or under one of these
keys (the escape hatch would silently override the typed field, or be overridden), and a
test keeps it equal to what rendering writes."""

GATEWAY_TYPED_KEYS: Mapping[str, str] = {
    "revision": "GatewayInstall.revision",
    "service": "GatewayInstall.service_type, ports and load_balancer_ip",
    "replicaCount": "GatewayInstall.replicas",
    "autoscaling": "GatewayInstall.autoscaling",
    "resources": "GatewayInstall.resources",
}
"""The gateway chart values that typed fields set, as :data:`ISTIOD_TYPED_KEYS`."""

BASE_TYPED_KEYS: Mapping[str, str] = {
    "global.istioNamespace": "IstioInstall.namespace",
    "base.validationFailurePolicy": "IstioInstall.validation_failure_policy",
    "defaultRevision": "IstioInstall.default_revision",
    "global.resourceScope": "IstioInstall.crd_stack",
}
"""The base chart values that typed fields set, as :data:`ISTIOD_TYPED_KEYS`."""

CNI_TYPED_KEYS: Mapping[str, str] = {
    "global.istioNamespace": "IstioInstall.namespace",
    "global.hub": "IstioInstall.image_hub",
    "global.tag": "IstioInstall.version (or CniInstall.version)",
    "global.profile": "IstioInstall.ambient",
}
"""The istio-cni chart values that typed fields set, as :data:`ISTIOD_TYPED_KEYS`."""

ZTUNNEL_TYPED_KEYS: Mapping[str, str] = {
    "hub": "IstioInstall.image_hub",
    "tag": "IstioInstall.version",
    "istioNamespace": "IstioInstall.namespace",
}
"""The ztunnel chart values that typed fields set, as :data:`ISTIOD_TYPED_KEYS`."""


class RevisionTag(Spec):
    """A stable name (``prod-stable``) pointing at a revision: namespaces label
    ``istio.io/rev=<tag>`` and an upgrade moves the tag, not every namespace."""

    name: RevisionName
    revision: RevisionName


class GatewayRole(StrEnum):
    INGRESS = "ingress"
    EGRESS = "egress"


class ServiceType(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


class GatewayPort(Spec):
    name: DnsLabel
    port: PortNumber
    target_port: PortNumber
    protocol: Literal["TCP", "UDP"] = "TCP"


INGRESS_PORTS = (
    GatewayPort(name="status-port", port=15021, target_port=15021),
    GatewayPort(name="http2", port=80, target_port=80),
    GatewayPort(name="https", port=443, target_port=443),
)
"""The gateway chart's default Service ports."""


EAST_WEST_PORTS = (
    GatewayPort(name="status-port", port=15021, target_port=15021),
    GatewayPort(name="tls", port=15443, target_port=15443),
    GatewayPort(name="tls-istiod", port=15012, target_port=15012),
    GatewayPort(name="tls-webhook", port=15017, target_port=15017),
)
"""The ports the gateway chart gives a network gateway's Service: health, the mTLS
passthrough other networks' sidecars reach pods through (15443), istiod's XDS and its
webhook (for remote clusters)."""


class MeshMembership(Spec):
    """Where one cluster's istiod sits in a mesh of several clusters: istiod's
    ``global.meshID``, ``global.multiCluster.clusterName`` and ``global.network``. A
    multi-cluster spec (``MeshSpec.multicluster``) sets it in each cluster's view."""

    mesh_id: DnsLabel
    cluster_name: DnsLabel
    network: DnsLabel
    control_plane: DnsLabel | None = None
    """A remote's primary (the cluster whose istiod serves it); ``None``: it runs its own.
    A remote installs the charts' ``remote`` profile: no istiod, a webhook and an
    ``istiod`` Service pointing at ``discovery_address``."""
    discovery_address: NetworkAddress | None = None
    """A remote's way to its primary's istiod (``global.remotePilotAddress``)."""
    serves_remotes: bool = False
    """A primary with remotes: its east-west gateway exposes istiod (15012, 15017)."""


class GatewayInstall(Spec):
    """One gateway chart release. Its pods use ``image: auto``, filled in by sidecar
    injection: the namespace must be declared with injection enabled."""

    name: DnsLabel = "istio-ingressgateway"
    namespace: DnsLabel = "istio-ingress"
    role: GatewayRole = GatewayRole.INGRESS
    revision: RevisionName | None = None
    """Which control-plane revision (or tag) injects the gateway; ``None``: the default."""
    version: IstioVersion | None = None
    service_type: ServiceType = ServiceType.LOAD_BALANCER
    ports: tuple[GatewayPort, ...] = INGRESS_PORTS
    replicas: PositiveInt = 1
    autoscaling: Autoscaling | None = None
    resources: Resources | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    load_balancer_ip: IpAddress | None = None
    """A reserved address the Service's load balancer asks for (the chart's
    ``service.loadBalancerIP``): one that others are told in advance, such as the
    discovery address remotes reach their primary's istiod at."""
    network: DnsLabel | None = None
    """Set for a network's east-west gateway: the chart's ``networkGateway`` (its Service
    labelled ``topology.istio.io/network``, the ports of ``EAST_WEST_PORTS``), which istiod
    sends other networks' requests for this network's pods to."""

    @property
    def selector_label(self) -> str:
        """The chart labels pods ``istio: <name without 'istio-'>``: what Gateways select."""
        return self.name.removeprefix("istio-")


class CniInstall(Spec):
    """The istio-cni node agent: sets up traffic redirection instead of a privileged
    init container in every pod."""

    namespace: DnsLabel = "istio-system"
    version: IstioVersion | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class ValidationFailurePolicy(StrEnum):
    FAIL = "Fail"
    IGNORE = "Ignore"


class IstioInstall(Spec):
    """Everything about installing Istio in one cluster."""

    version: IstioVersion = ISTIO_VERSION
    namespace: DnsLabel = "istio-system"
    chart_source: ChartSource | None = Field(default_factory=ChartRepository)
    jwks_blocked_cidrs: tuple[NonEmptyStr, ...] = JWKS_BLOCKED_CIDRS
    """Networks istiod never fetches a RequestAuthentication's ``jwksUri`` from
    (``BLOCKED_CIDRS_IN_JWKS_URIS``): a JWT rule pointing at the cloud metadata service or
    at istiod's own host would otherwise make istiod fetch it (istioctl: IST0175)."""
    image_hub: NonEmptyStr = ISTIO_IMAGE_HUB
    """Where istiod's and istio-cni's images come from (``global.hub``; the tag is always
    the chart's version). Pinned in every chart: charts from Istio's source tree default
    to a floating ``latest`` testing image. An air-gapped cluster names its mirror."""
    control_planes: tuple[ControlPlane, ...] = (ControlPlane(),)
    default_revision: RevisionName | None = None
    """With only named revisions, the revision that ``istio-injection=enabled`` namespaces
    and revision-less gateways use (the base chart's ``defaultRevision``)."""
    revision_tags: tuple[RevisionTag, ...] = ()
    mesh_config: MeshConfig = Field(default_factory=MeshConfig)
    gateways: tuple[GatewayInstall, ...] = (GatewayInstall(),)
    cni: CniInstall | None = None
    ambient: bool = False
    """Install ambient mode: istiod and istio-cni with the ``ambient`` profile (istio-cni
    from ``cni``, or its defaults) and the ``ztunnel`` node proxy, so namespaces may set
    ``dataplane=Dataplane.AMBIENT``."""
    ztunnel_values: dict[str, Any] = Field(default_factory=dict)
    """Escape hatch: any other ztunnel chart value, merged over what meshstack sets."""
    validation_failure_policy: ValidationFailurePolicy = ValidationFailurePolicy.FAIL
    """Pinned in the charts: istiod otherwise flips its webhook from Ignore to Fail at run
    time and every later ``pulumi up`` shows a diff (or an apply conflict)."""
    crd_descriptions: bool = True
    """Keep the prose of every CRD schema the stack registers (Istio's, the Gateway API's).

    ``False`` drops the schemas' ``description`` strings: about 2 MB less in every state
    checkpoint (dev's state 5.5 MB → 3.4 MB), so each ``pulumi up`` step writes less, at the
    cost of ``kubectl explain`` showing fields without their documentation. Validation by
    the API server is unchanged: descriptions carry no rules."""
    crd_stack: StackName | None = None
    """The stack of this project that holds the CRD layer: the base chart's cluster-scoped
    objects (Istio's CRDs, and the default revision's validator when ``default_revision``
    names one) and the Gateway API's CRDs. That stack's config says
    ``meshstack:crdsOf: <this stack>``; this stack then registers none of them, checks
    before registering anything that the CRD stack is up with this Istio release, and
    keeps the base chart's namespaced objects.

    Why: after every step of a ``pulumi up`` the engine re-saves the whole state, and the
    CRDs are registered first, so they are in almost every save (dev: two thirds of the
    bytes serialised per ``up``). In their own stack they are saved a few dozen times, once
    per release, and the mesh's ``up`` no longer pays for them. The cost: one more
    ``pulumi up`` per environment (first, and on each Istio or Gateway API upgrade)."""
    base_values: dict[str, Any] = Field(default_factory=dict)
    protect: bool = False
    membership: MeshMembership | None = None
    """This cluster's place in a multi-cluster mesh; ``None`` for a mesh of one cluster."""
    """Protect the CRDs and the install namespace from deletion: deleting a CRD deletes
    every resource of its kind in the cluster. Prod turns this on."""
    keep_crds_on_destroy: bool = False
    """Leave Istio's CRDs in the cluster on ``pulumi destroy``, as ``helm uninstall`` does
    (the base chart marks them ``helm.sh/resource-policy: keep``). Off: a stack deletes
    what it created, and a later ``up`` does not trip over CRDs it no longer owns. Where
    the CRDs must survive, ``protect`` is the stronger guard."""

    def version_of(self, chart_version: str | None) -> str:
        return chart_version or self.version
