"""multi: one mesh over two clusters on two networks (multi-primary), Bookinfo across both.

``east`` (region us-east1, network ``net-east``) and ``west`` (us-west1, ``net-west``) each
run istiod; each network's east-west gateway exposes its pods to the other's. productpage
and reviews run in both clusters, details and ratings only in east: west's reviews reach
ratings through east's gateway. Requests prefer their own region and fail over to the
other when outlier detection ejects the local endpoints. STRICT mTLS mesh-wide; ratings
accepts only reviews' identity, from either cluster (one trust domain, one root of trust:
each cluster's ``cacerts`` comes from the stack config, see README's multi-cluster part).
"""

from meshstack.apps import bookinfo
from meshstack.recipes import bookinfo_ingress, ingress_gateway_install
from meshstack.spec import (
    AuthorizationPolicy,
    AuthorizationRule,
    DestinationPolicy,
    IstioInstall,
    LocalityFailover,
    LocalityLoadBalancing,
    MeshCluster,
    MeshPolicy,
    MeshSpec,
    MtlsMode,
    MultiCluster,
    Namespace,
    OutlierDetection,
    PeerAuthentication,
    PluginCa,
    RequestSource,
    ServiceType,
    Workload,
)

EAST, WEST = "east", "west"
REGIONS = {EAST: "us-east1", WEST: "us-west1"}
ONLY_EAST = {"details", "ratings"}


def _placed(workload: Workload) -> Workload:
    """Bookinfo with details and ratings in east only; productpage and reviews in both."""
    if workload.name in ONLY_EAST:
        return workload.model_copy(update={"clusters": (EAST,)})
    return workload


def _cluster(name: str) -> MeshCluster:
    """A cluster on a network of its own, reached and signed by its own config keys
    (``meshstack:kubeconfigEast``, ``meshstack:caCertEast``, ``meshstack:caKeyEast``)."""
    title = name.title()
    return MeshCluster(
        name=name,
        network=f"net-{name}",
        region=REGIONS[name],
        kubeconfig=f"kubeconfig{title}",
        ca_cert=f"caCert{title}",
        ca_key=f"caKey{title}",
    )


def _failover(service: str) -> DestinationPolicy:
    """Stay in the caller's region; go to the other once outlier detection has ejected
    every local endpoint (Istio ignores failover without it)."""
    return DestinationPolicy(
        service=service,
        namespace="bookinfo",
        outlier_detection=OutlierDetection(consecutive_5xx_errors=3),
        locality=LocalityLoadBalancing(
            failover=(
                LocalityFailover(from_region=REGIONS[EAST], to_region=REGIONS[WEST]),
                LocalityFailover(from_region=REGIONS[WEST], to_region=REGIONS[EAST]),
            )
        ),
    )


def spec() -> MeshSpec:
    app = bookinfo()
    app = app.model_copy(update={"workloads": tuple(_placed(w) for w in app.workloads)})
    gateway, ingress = bookinfo_ingress("bookinfo.example.com")
    return MeshSpec(
        stack="multi",
        namespaces=(
            Namespace(name="bookinfo"),
            Namespace(name="istio-ingress"),
        ),
        apps=(app,),
        multicluster=MultiCluster(
            mesh_id="mesh1",
            plugin_ca=PluginCa(root_cert="caRootCert"),
            clusters=(_cluster(EAST), _cluster(WEST)),
        ),
        policy=MeshPolicy(
            gateways=(gateway,),
            virtual_services=(ingress,),
            destination_policies=(_failover("reviews"), _failover("productpage")),
            peer_authentications=(PeerAuthentication(name="default", mode=MtlsMode.STRICT),),
            authorization_policies=(
                AuthorizationPolicy(
                    name="ratings-from-reviews",
                    namespace="bookinfo",
                    workload="ratings",
                    rules=(
                        AuthorizationRule(
                            sources=(
                                RequestSource(service_accounts=("bookinfo/bookinfo-reviews",)),
                            )
                        ),
                    ),
                ),
            ),
        ),
        install=IstioInstall(
            gateways=(ingress_gateway_install(service_type=ServiceType.NODE_PORT),),
            # Two clusters' CRDs would be in every save of multi's up: they live in the
            # stack multi-crds (Pulumi.multi-crds.yaml), which installs them in each cluster.
            crd_stack="multi-crds",
        ),
    )
