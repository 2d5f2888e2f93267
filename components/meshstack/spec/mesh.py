"""The root of a stack's spec: workloads plus every piece of mesh policy."""

from __future__ import annotations

from pydantic import Field

from meshstack.spec.addons import Addons
from meshstack.spec.base import DnsLabel, NonEmptyStr, Spec
from meshstack.spec.edge import ExternalService, Gateway, GatewayApi, GatewayWorkload
from meshstack.spec.gateway_api import GatewayApiCrds
from meshstack.spec.install import IstioInstall
from meshstack.spec.multicluster import MultiCluster
from meshstack.spec.observability import LocalRateLimit, SidecarScope, TelemetrySpec
from meshstack.spec.refs import gateway_key
from meshstack.spec.security import AuthorizationPolicy, JwtRule, PeerAuthentication
from meshstack.spec.slo import ServiceLevelObjective, SloRuleDelivery, SloRulesInAddon
from meshstack.spec.traffic import Canary, DestinationPolicy, VirtualService
from meshstack.spec.trust import DEFAULT_TRUST_DOMAIN, TrustDomain
from meshstack.spec.workloads import App, Namespace, Workload


class MeshPolicy(Spec):
    """Everything Istio enforces, grouped by Istio resource family."""

    gateways: tuple[Gateway, ...] = ()
    virtual_services: tuple[VirtualService, ...] = ()
    destination_policies: tuple[DestinationPolicy, ...] = ()
    canaries: tuple[Canary, ...] = ()
    peer_authentications: tuple[PeerAuthentication, ...] = ()
    authorization_policies: tuple[AuthorizationPolicy, ...] = ()
    default_deny_namespaces: tuple[DnsLabel, ...] = ()
    """Namespaces where anything not explicitly allowed is denied (an empty ALLOW policy)."""
    jwt_rules: tuple[JwtRule, ...] = ()
    external_services: tuple[ExternalService, ...] = ()
    sidecars: tuple[SidecarScope, ...] = ()
    telemetry: TelemetrySpec | None = None
    rate_limits: tuple[LocalRateLimit, ...] = ()
    slos: tuple[ServiceLevelObjective, ...] = ()
    """Service level objectives, measured from the mesh's metrics (``meshstack.spec.slo``)."""
    slo_rules: SloRuleDelivery = Field(default_factory=SloRulesInAddon)
    """Who evaluates the SLOs' recording and alerting rules: the Prometheus add-on (its
    rule files) or a Prometheus the Operator runs (``PrometheusRule`` objects)."""

    @property
    def addon_slos(self) -> tuple[ServiceLevelObjective, ...]:
        """The SLOs whose rules the Prometheus add-on loads: none when they go to the
        Operator's ``PrometheusRule`` objects instead."""
        return self.slos if isinstance(self.slo_rules, SloRulesInAddon) else ()


class MeshSpec(Spec):
    """One stack's whole mesh: what runs, and what Istio does with its traffic."""

    stack: NonEmptyStr
    root_namespace: DnsLabel = "istio-system"
    """Istio's root namespace: mesh-wide policies live here."""
    trust_domain: NonEmptyStr = DEFAULT_TRUST_DOMAIN
    """The SPIFFE identity root of workload principals (``<trust_domain>/ns/../sa/..``);
    the install gives it to istiod (``meshConfig.trustDomain``), which issues them."""
    trust_domain_aliases: tuple[NonEmptyStr, ...] = ()
    """Other trust domains istiod accepts as this one (``meshConfig.trustDomainAliases``):
    callers still holding identities of the old domain during a migration."""
    cluster_domain: NonEmptyStr = "cluster.local"
    """The cluster's DNS suffix: services are ``<name>.<namespace>.svc.<cluster_domain>``.
    Not the trust domain: the two merely share a default."""
    namespaces: tuple[Namespace, ...]
    apps: tuple[App, ...] = ()
    gateway_workloads: tuple[GatewayWorkload, ...] = (GatewayWorkload(),)
    """Gateway deployments the Istio install provides; policies may select them."""
    policy: MeshPolicy = Field(default_factory=MeshPolicy)
    install: IstioInstall | None = None
    """How this stack installs Istio; ``None`` when the cluster already has it."""
    addons: Addons = Field(default_factory=Addons)
    gateway_api: GatewayApiCrds = Field(default_factory=GatewayApiCrds)
    """Where the Gateway API's CRDs come from; installed only when a gateway uses that API."""
    multicluster: MultiCluster | None = None
    """The clusters the mesh spans (``meshstack.spec.multicluster``); ``None``: one cluster."""
    cluster_view: DnsLabel | None = None
    """Set only in the per-cluster views :func:`meshstack.multicluster.cluster_view`
    derives: the cluster this view is of (its workloads' pods are the ones placed there)."""

    def placement_of(self, namespace: str, workload: Workload) -> tuple[str, ...]:
        """The clusters a workload's pods run in: its own placement, else its namespace's,
        else every cluster; empty for a mesh of one cluster. (Validation refuses a
        workload placed outside its namespace's clusters.)"""
        if self.multicluster is None:
            return ()
        declared = next((n.clusters for n in self.namespaces if n.name == namespace), ())
        chosen = workload.clusters or declared
        return tuple(c.name for c in self.multicluster.clusters if not chosen or c.name in chosen)

    def runs_in(self, namespace: str, workload: Workload, cluster: str | None) -> bool:
        """Whether a workload's pods run in ``cluster`` (``None``: a mesh of one cluster)."""
        return cluster is None or cluster in self.placement_of(namespace, workload)

    def mtls_scope(self, pa: PeerAuthentication) -> tuple[str | None, str | None]:
        """``(namespace, workload)`` a PeerAuthentication applies to, ``None`` for the
        mesh: Istio reads a namespace-wide policy in its root namespace as mesh-wide, so
        ``namespace=None`` and ``namespace=<root>`` are one scope, spelled two ways."""
        if pa.workload is None and pa.namespace in (None, self.root_namespace):
            return None, None
        return pa.namespace, pa.workload

    @property
    def trust(self) -> TrustDomain:
        return TrustDomain(self.trust_domain, self.trust_domain_aliases)

    def gateway_workload(self, name: str) -> GatewayWorkload | None:
        """The gateway deployment called ``name``, or ``None`` when none is declared."""
        return next((w for w in self.gateway_workloads if w.name == name), None)

    def uses_gateway_api(self) -> bool:
        """Whether any object is a Gateway API one: a gateway declared through that API,
        or an ambient namespace's waypoint (a Gateway of class ``istio-waypoint``)."""
        return any(g.api is GatewayApi.KUBERNETES for g in self.policy.gateways) or bool(
            self.waypoints()
        )

    @property
    def installs_gateway_api_crds(self) -> bool:
        """Whether the stack installs the Gateway API's CRDs: a gateway or waypoint uses
        that API and ``gateway_api.install`` leaves them to meshstack."""
        return self.uses_gateway_api() and self.gateway_api.install

    def waypoints(self) -> list[tuple[str, str]]:
        """``(namespace, name)`` of every waypoint of an ambient namespace or service."""
        ambient = {ns.name: ns for ns in self.namespaces if ns.ambient}
        found = {(name, ns.waypoint.name) for name, ns in ambient.items() if ns.waypoint}
        found |= {
            (app.namespace, w.waypoint.name)
            for app in self.apps
            if app.namespace in ambient
            for w in app.workloads
            if w.waypoint is not None
        }
        return sorted(found)

    def gateway(self, ref: str, namespace: str) -> Gateway | None:
        """The gateway a route in ``namespace`` names as ``name`` or ``namespace/name``."""
        key = gateway_key(ref, namespace)
        return next(
            (g for g in self.policy.gateways if (g.namespace, g.name) == key),
            None,
        )
