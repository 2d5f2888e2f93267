"""dev: everything on, for trying mesh features.

Bookinfo on sidecars, entering through the Kubernetes Gateway API; the Online Boutique
in ambient mode (ztunnel, and a waypoint for its routes and faults), entering through
Istio's Gateway; cartservice's gRPC API only for frontend and checkout (a request-level
rule, so on a waypoint: cartservice's own). PERMISSIVE mTLS (plaintext still accepted while teams migrate), reviews split
50/50 between v1 and v3 with user ``jason`` pinned to v2 and mobile browsers on
v3, a mirror of live traffic to v2, and the fault-injection drills: a 5 s delay
on 10 % of productcatalogservice calls and HTTP 500 on 5 % of cartservice calls.
"""

from meshstack.apps import bookinfo, online_boutique
from meshstack.recipes import (
    bookinfo_ingress,
    boutique_ingress,
    ingress_gateway_install,
    sample_namespaces,
)
from meshstack.spec import (
    AbortFault,
    Addons,
    App,
    AuthorizationPolicy,
    AuthorizationRule,
    ConsistentHash,
    ControlPlane,
    Dataplane,
    DelayFault,
    Destination,
    DestinationPolicy,
    FaultInjection,
    GatewayApi,
    Grafana,
    HttpMatch,
    HttpRoute,
    IstioInstall,
    Jaeger,
    Kiali,
    KialiAuth,
    LoadBalancer,
    LocalRateLimit,
    MeshConfig,
    MeshPolicy,
    MeshSpec,
    Mirror,
    MtlsMode,
    Namespace,
    PeerAuthentication,
    Prometheus,
    RequestOperation,
    RequestSource,
    Resources,
    ServiceType,
    StringMatch,
    Subset,
    TelemetrySpec,
    TracingProvider,
    VirtualService,
    Waypoint,
)


def _cart_on_its_own_waypoint(shop: App) -> App:
    """cartservice gets a waypoint of its own (its Service says so), beside the namespace's."""
    workloads = tuple(
        w.model_copy(update={"waypoint": Waypoint(name="cart-waypoint")})
        if w.name == "cartservice"
        else w
        for w in shop.workloads
    )
    return shop.model_copy(update={"workloads": workloads})


def spec() -> MeshSpec:
    # Bookinfo enters through the Kubernetes Gateway API (a Gateway istiod deploys and an
    # HTTPRoute), the shop through Istio's own Gateway: one field apart.
    bookinfo_gateway, bookinfo_route = bookinfo_ingress(
        "bookinfo.dev.meshstack.test", api=GatewayApi.KUBERNETES
    )
    boutique_gateway, boutique_route = boutique_ingress("shop.dev.meshstack.test")
    reviews = VirtualService(
        name="reviews",
        namespace="bookinfo",
        hosts=("reviews",),
        http=(
            HttpRoute(
                name="jason-on-v2",
                match=(HttpMatch(headers={"end-user": StringMatch(exact="jason")}),),
                destinations=(Destination(service="reviews", subset="v2"),),
            ),
            HttpRoute(
                name="mobile-on-v3",
                match=(HttpMatch(user_agent=StringMatch(regex=".*Mobile.*")),),
                destinations=(Destination(service="reviews", subset="v3"),),
            ),
            HttpRoute(
                name="split",
                destinations=(
                    Destination(service="reviews", subset="v1", weight=50),
                    Destination(service="reviews", subset="v3", weight=50),
                ),
                mirror=Mirror(service="reviews", subset="v2", percentage=10),
            ),
        ),
    )
    slow_catalog = VirtualService(
        name="productcatalogservice",
        namespace="hipster-shop",
        hosts=("productcatalogservice",),
        http=(
            HttpRoute(
                destinations=(Destination(service="productcatalogservice"),),
                fault=FaultInjection(delay=DelayFault(fixed_delay="5s", percentage=10)),
            ),
        ),
    )
    failing_cart = VirtualService(
        name="cartservice",
        namespace="hipster-shop",
        hosts=("cartservice",),
        http=(
            HttpRoute(
                destinations=(Destination(service="cartservice"),),
                fault=FaultInjection(abort=AbortFault(http_status=500, percentage=5)),
            ),
        ),
    )
    return MeshSpec(
        stack="dev",
        # The Online Boutique runs in ambient mode: ztunnel on each node, a waypoint for its
        # L7 routing and fault drills; Bookinfo keeps its sidecars. One field apart.
        namespaces=tuple(
            Namespace(name=ns.name, dataplane=Dataplane.AMBIENT, waypoint=Waypoint())
            if ns.name == "hipster-shop"
            else ns
            for ns in sample_namespaces()
        ),
        apps=(bookinfo(), _cart_on_its_own_waypoint(online_boutique(loadgenerator=True))),
        policy=MeshPolicy(
            gateways=(bookinfo_gateway, boutique_gateway),
            virtual_services=(bookinfo_route, boutique_route, reviews, slow_catalog, failing_cart),
            destination_policies=(
                DestinationPolicy(
                    service="reviews",
                    namespace="bookinfo",
                    load_balancer=LoadBalancer.LEAST_REQUEST,
                    subsets=tuple(Subset(name=v, version=v) for v in ("v1", "v2", "v3")),
                ),
                DestinationPolicy(
                    service="cartservice",
                    namespace="hipster-shop",
                    consistent_hash=ConsistentHash(http_header_name="x-session-id"),
                ),
            ),
            peer_authentications=(PeerAuthentication(mode=MtlsMode.PERMISSIVE),),
            # A request-level rule in the ambient namespace: its waypoint enforces it.
            authorization_policies=(
                AuthorizationPolicy(
                    name="cart-api-from-shop-services",
                    namespace="hipster-shop",
                    workload="cartservice",
                    rules=(
                        AuthorizationRule(
                            sources=(
                                RequestSource(
                                    service_accounts=(
                                        "hipster-shop/frontend",
                                        "hipster-shop/checkoutservice",
                                    )
                                ),
                            ),
                            operations=(RequestOperation(paths=("/hipstershop.CartService/*",)),),
                        ),
                    ),
                ),
            ),
            rate_limits=(
                LocalRateLimit(
                    name="productpage-rate-limit",
                    namespace="bookinfo",
                    workload="productpage",
                    max_tokens=100,
                    tokens_per_fill=50,
                    fill_interval="1s",
                ),
            ),
            telemetry=TelemetrySpec(tracing_sampling=100, access_logging=True),
        ),
        install=IstioInstall(
            ambient=True,
            # dev's up writes its state after every step: the CRDs live in the stack
            # dev-crds (Pulumi.dev-crds.yaml), so no step of dev's up re-saves them, and
            # without their prose that stack's own saves are 2 MB smaller each (kubectl
            # explain shows no field documentation).
            crd_stack="dev-crds",
            crd_descriptions=False,
            control_planes=(
                ControlPlane(resources=Resources(cpu_request="100m", memory_request="256Mi")),
            ),
            mesh_config=MeshConfig(tracing=TracingProvider()),
            gateways=(ingress_gateway_install(service_type=ServiceType.NODE_PORT),),
        ),
        addons=Addons(
            prometheus=Prometheus(),
            jaeger=Jaeger(),
            grafana=Grafana(anonymous_access=True),
            kiali=Kiali(auth=KialiAuth.ANONYMOUS),
        ),
    )
