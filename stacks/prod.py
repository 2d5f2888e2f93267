"""prod: least privilege everywhere, resilience on, no chaos.

STRICT mTLS mesh-wide (and pinned again at namespace, workload and port level
where it matters), default-deny in every app namespace with ALLOW rules derived
from the apps' call graph, a JWT required at the ingress gateway, HTTPS only,
a circuit breaker and retries on productcatalogservice, egress only
through the egress gateway, and availability and latency SLOs on the two services
users reach (productpage, frontend), with burn-rate alerts.
"""

from meshstack.apps import bookinfo, online_boutique
from meshstack.least_privilege import least_privilege_policies
from meshstack.recipes import (
    EGRESS_GATEWAY,
    INGRESS_GATEWAY,
    bookinfo_ingress,
    boutique_ingress,
    egress_gateway_install,
    ingress_gateway_install,
    sample_namespaces,
)
from meshstack.spec import (
    Addons,
    Autoscaling,
    Canary,
    CanaryAnalysis,
    CniInstall,
    ConnectionPool,
    ControlPlane,
    Destination,
    DestinationPolicy,
    ExternalService,
    Grafana,
    HttpRoute,
    IstioInstall,
    Jaeger,
    JwtRule,
    Kiali,
    KialiAuth,
    MeshConfig,
    MeshPolicy,
    MeshSpec,
    MtlsMode,
    OutboundPolicy,
    OutlierDetection,
    PeerAuthentication,
    Prometheus,
    Protocol,
    Resources,
    RetryPolicy,
    ServiceLevelObjective,
    ServicePort,
    SidecarScope,
    SloAlerting,
    SloIndicator,
    TelemetrySpec,
    TlsOrigination,
    TracingProvider,
    VirtualService,
)

INGRESS = INGRESS_GATEWAY
EGRESS = EGRESS_GATEWAY
APP_NAMESPACES = ("bookinfo", "hipster-shop")


USER_FACING_SLOS = tuple(
    slo
    for service, namespace in (("productpage", "bookinfo"), ("frontend", "hipster-shop"))
    for slo in (
        # 99.9 % of a user's requests are not 5xx, over 30 days, kept per ingress route (the
        # page, its static files, the sign-in, the API), so one failing route pages alone.
        ServiceLevelObjective(
            name="availability",
            service=service,
            namespace=namespace,
            group_by=("route_name",),
        ),
        # 99 % are answered within 500 ms (a bucket bound of Istio's latency histogram);
        # slow pages are a ticket, not a page.
        ServiceLevelObjective(
            name="latency",
            service=service,
            namespace=namespace,
            indicator=SloIndicator.LATENCY,
            objective=99.0,
            latency_threshold_ms=500,
            alerting=SloAlerting(page=False),
        ),
    )
)
"""The objectives of the two services users reach (through the ingress gateways)."""


def spec() -> MeshSpec:
    apps = (
        bookinfo(replicas=3),
        online_boutique(
            loadgenerator=False,
            replicas=3,
            resources=Resources(
                cpu_request="200m", memory_request="128Mi", cpu_limit="500m", memory_limit="256Mi"
            ),
        ),
    )
    ingress_account = f"{INGRESS.namespace}/{INGRESS.service_account}"
    bookinfo_gateway, bookinfo_route = bookinfo_ingress(
        "bookinfo.meshstack.test", tls_secret="bookinfo-tls"
    )
    boutique_gateway, boutique_route = boutique_ingress(
        "shop.meshstack.test", tls_secret="boutique-tls"
    )
    resilient_catalog = VirtualService(
        name="productcatalogservice",
        namespace="hipster-shop",
        hosts=("productcatalogservice",),
        http=(
            HttpRoute(
                destinations=(Destination(service="productcatalogservice"),),
                timeout="10s",
                retries=RetryPolicy(
                    attempts=3,
                    per_try_timeout="2s",
                    retry_on=("5xx", "reset", "connect-failure"),
                ),
            ),
        ),
    )
    return MeshSpec(
        stack="prod",
        namespaces=sample_namespaces(),
        apps=apps,
        gateway_workloads=(INGRESS, EGRESS),
        policy=MeshPolicy(
            gateways=(bookinfo_gateway, boutique_gateway),
            virtual_services=(bookinfo_route, boutique_route, resilient_catalog),
            destination_policies=(
                DestinationPolicy(
                    service="productcatalogservice",
                    namespace="hipster-shop",
                    connection_pool=ConnectionPool(
                        max_connections=100,
                        connect_timeout="1s",
                        http1_max_pending_requests=10,
                        http2_max_requests=100,
                        max_requests_per_connection=10,
                        max_retries=3,
                    ),
                    outlier_detection=OutlierDetection(
                        consecutive_5xx_errors=5,
                        interval="10s",
                        base_ejection_time="30s",
                        max_ejection_percent=50,
                    ),
                ),
            ),
            canaries=(
                Canary(
                    service="reviews",
                    namespace="bookinfo",
                    stable="v1",
                    candidate="v3",
                    weight=10,
                    timeout="5s",
                    retries=RetryPolicy(attempts=2, per_try_timeout="2s"),
                    # meshstack canary status/advance judge each step against Prometheus
                    analysis=CanaryAnalysis(
                        steps=(1, 10, 25, 50, 100),
                        min_success_rate=99.5,
                        max_p99_ms=300,
                        failed_checks=2,
                    ),
                ),
            ),
            peer_authentications=(
                PeerAuthentication(mode=MtlsMode.STRICT),
                *(PeerAuthentication(namespace=ns, mode=MtlsMode.STRICT) for ns in APP_NAMESPACES),
                PeerAuthentication(
                    name="redis-cart",
                    namespace="hipster-shop",
                    workload="redis-cart",
                    mode=MtlsMode.STRICT,
                    port_modes={6379: MtlsMode.STRICT},
                ),
            ),
            default_deny_namespaces=APP_NAMESPACES,
            authorization_policies=least_privilege_policies(
                apps,
                extra_callers={
                    "productpage.bookinfo": (ingress_account,),
                    "frontend.hipster-shop": (ingress_account,),
                },
            ),
            jwt_rules=(
                JwtRule(
                    name="ingress-jwt",
                    namespace=INGRESS.namespace,
                    workload=INGRESS.name,
                    issuer="https://auth.meshstack.test",
                    jwks_uri="https://auth.meshstack.test/.well-known/jwks.json",
                    unauthenticated_paths=("/healthz", "/login"),
                ),
            ),
            external_services=(
                # Controlled egress to a SaaS API: paymentservice speaks HTTP, its sidecar
                # reaches the egress gateway over mTLS, the gateway checks the caller and
                # opens TLS to the API. Nothing else in the mesh can reach it.
                ExternalService(
                    name="payments-api",
                    namespace="hipster-shop",
                    hosts=("payments.meshstack.test",),
                    ports=(ServicePort(number=80, protocol=Protocol.HTTP),),
                    via_egress_gateway=True,
                    tls_origination=TlsOrigination(port=443),
                    allowed_callers=("hipster-shop/paymentservice",),
                ),
            ),
            sidecars=tuple(
                SidecarScope(
                    namespace=ns,
                    egress_hosts=("./*", "istio-system/*", "istio-egress/*"),
                    outbound_policy=OutboundPolicy.REGISTRY_ONLY,
                )
                for ns in APP_NAMESPACES
            ),
            telemetry=TelemetrySpec(
                tracing_sampling=1, access_logging=True, access_log_filter="response.code >= 400"
            ),
            slos=USER_FACING_SLOS,
        ),
        install=IstioInstall(
            protect=True,
            control_planes=(
                ControlPlane(
                    autoscaling=Autoscaling(min_replicas=3, max_replicas=6),
                    resources=Resources(
                        cpu_request="500m", memory_request="2Gi", cpu_limit="2", memory_limit="4Gi"
                    ),
                ),
            ),
            mesh_config=MeshConfig(
                tracing=TracingProvider(),
                outbound_traffic_policy=OutboundPolicy.REGISTRY_ONLY,
                default_proxy_resources=Resources(
                    cpu_request="100m", memory_request="128Mi", cpu_limit="1", memory_limit="512Mi"
                ),
            ),
            gateways=(
                ingress_gateway_install(
                    autoscaling=Autoscaling(min_replicas=3, max_replicas=10),
                    resources=Resources(
                        cpu_request="500m",
                        memory_request="256Mi",
                        cpu_limit="2",
                        memory_limit="1Gi",
                    ),
                ),
                egress_gateway_install(autoscaling=Autoscaling(min_replicas=2, max_replicas=4)),
            ),
            cni=CniInstall(),
        ),
        addons=Addons(
            prometheus=Prometheus(retention="15d"),
            jaeger=Jaeger(),
            grafana=Grafana(anonymous_access=False),
            kiali=Kiali(auth=KialiAuth.TOKEN),
        ),
    )
