"""staging: STRICT mTLS and the canaries that prod will take next.

reviews runs a 90/10 canary from v1 to v3; frontend v2 (the next boutique
release) takes only requests with header ``canary: "true"``, from the ingress
gateway as well as inside the mesh. cartservice accepts calls only from the
frontend's service account. Bookinfo's ratings database (MySQL, as in Istio's Bookinfo
with a virtual machine) runs on two machines outside Kubernetes that join the mesh:
only ratings' identity may reach it.
"""

from meshstack.apps import bookinfo, online_boutique
from meshstack.apps.online_boutique import boutique_image
from meshstack.recipes import (
    EGRESS_GATEWAY,
    INGRESS_GATEWAY,
    bookinfo_ingress,
    boutique_ingress,
    egress_gateway_install,
    ingress_gateway_install,
)
from meshstack.spec import (
    Addons,
    App,
    AuthorizationPolicy,
    AuthorizationRule,
    Autoscaling,
    Canary,
    CanaryAnalysis,
    ControlPlane,
    ExternalService,
    HttpMatch,
    IstioInstall,
    Jaeger,
    MeshConfig,
    MeshPolicy,
    MeshSpec,
    MtlsMode,
    Namespace,
    PeerAuthentication,
    Probe,
    ProbeKind,
    Prometheus,
    Protocol,
    RequestOperation,
    RequestSource,
    RetryPolicy,
    RevisionTag,
    ServicePort,
    SidecarInjection,
    SidecarScope,
    StringMatch,
    TelemetrySpec,
    TracingProvider,
    Version,
    VirtualMachines,
    Workload,
)

ISTIO_STABLE = "1.30.3"
"""The control plane staging runs today; 1.30.4 runs beside it as a canary revision."""

BOUTIQUE_STABLE_TAG = "v0.10.2"
BOUTIQUE_CANDIDATE_TAG = "v0.10.3"


def ratings_database() -> App:
    """MySQL on two virtual machines (addresses from the documentation range), in the
    mesh as ``mysqldb.bookinfo``."""
    mysql = Workload(
        name="mysqldb",
        ports=(ServicePort(number=3306, protocol=Protocol.TCP),),
        versions=(Version(),),
        readiness=Probe(kind=ProbeKind.TCP, port=3306),
        virtual_machines=VirtualMachines(addresses=("192.0.2.10", "192.0.2.11")),
    )
    return App(name="ratings-database", namespace="bookinfo", workloads=(mysql,))


def spec() -> MeshSpec:
    bookinfo_gateway, bookinfo_route = bookinfo_ingress("bookinfo.staging.meshstack.test")
    boutique_gateway, _ = boutique_ingress("shop.staging.meshstack.test")
    return MeshSpec(
        stack="staging",
        # The control-plane canary: bookinfo moved to the new revision through its tag;
        # everything else (gateways included) stays on the stable tag until it is promoted.
        namespaces=(
            Namespace(name="bookinfo", injection=SidecarInjection.REVISION, revision="canary"),
            *(
                Namespace(name=ns, injection=SidecarInjection.REVISION, revision="stable")
                for ns in ("hipster-shop", "istio-ingress", "istio-egress")
            ),
        ),
        apps=(
            bookinfo(replicas=2),
            online_boutique(loadgenerator=True, tag=BOUTIQUE_STABLE_TAG, replicas=2),
            ratings_database(),
        ),
        gateway_workloads=(INGRESS_GATEWAY, EGRESS_GATEWAY),
        policy=MeshPolicy(
            gateways=(bookinfo_gateway, boutique_gateway),
            virtual_services=(bookinfo_route,),
            canaries=(
                Canary(
                    service="reviews",
                    namespace="bookinfo",
                    stable="v1",
                    candidate="v3",
                    weight=10,
                    retries=RetryPolicy(attempts=2, per_try_timeout="2s"),
                    # meshstack canary status/advance judge each step against Prometheus
                    analysis=CanaryAnalysis(steps=(10, 50, 100), interval="2m", min_requests=50),
                ),
                Canary(
                    service="frontend",
                    namespace="hipster-shop",
                    stable="v1",
                    candidate="v2",
                    candidate_image=boutique_image("frontend", tag=BOUTIQUE_CANDIDATE_TAG),
                    match=(HttpMatch(headers={"canary": StringMatch(exact="true")}),),
                    gateway=boutique_gateway.name,
                    gateway_hosts=("shop.staging.meshstack.test",),
                ),
            ),
            peer_authentications=(PeerAuthentication(mode=MtlsMode.STRICT),),
            authorization_policies=(
                AuthorizationPolicy(
                    name="cartservice-from-frontend",
                    namespace="hipster-shop",
                    workload="cartservice",
                    rules=(
                        AuthorizationRule(
                            sources=(RequestSource(service_accounts=("hipster-shop/frontend",)),)
                        ),
                    ),
                ),
                # The same rule for the machines: their proxies enforce it like a pod's.
                AuthorizationPolicy(
                    name="mysqldb-from-ratings",
                    namespace="bookinfo",
                    workload="mysqldb",
                    rules=(
                        AuthorizationRule(
                            sources=(
                                RequestSource(service_accounts=("bookinfo/bookinfo-ratings",)),
                            ),
                            operations=(RequestOperation(ports=(3306,)),),
                        ),
                    ),
                ),
            ),
            external_services=(
                ExternalService(
                    name="payments-api",
                    namespace="hipster-shop",
                    hosts=("payments.staging.meshstack.test",),
                    ports=(ServicePort(number=443, protocol=Protocol.TLS),),
                    via_egress_gateway=True,
                ),
            ),
            sidecars=(SidecarScope(namespace="bookinfo"),),
            telemetry=TelemetrySpec(tracing_sampling=10),
        ),
        install=IstioInstall(
            control_planes=(
                ControlPlane(revision="1-30-3", version=ISTIO_STABLE, replicas=2),
                ControlPlane(revision="1-30-4", replicas=2),
            ),
            revision_tags=(
                RevisionTag(name="stable", revision="1-30-3"),
                RevisionTag(name="canary", revision="1-30-4"),
            ),
            mesh_config=MeshConfig(tracing=TracingProvider()),
            gateways=(
                ingress_gateway_install(
                    revision="stable", autoscaling=Autoscaling(min_replicas=2, max_replicas=4)
                ),
                egress_gateway_install(revision="stable", replicas=2),
            ),
        ),
        addons=Addons(prometheus=Prometheus(), jaeger=Jaeger()),
    )
