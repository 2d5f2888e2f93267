"""staging: STRICT mTLS and the canaries that prod will take next.

reviews runs a 90/10 canary from v1 to v3; frontend v2 (the next boutique
release) takes only requests with header ``canary: "true"``, from the ingress
gateway as well as inside the mesh. cartservice accepts calls only from the
frontend's service account.
"""

from meshstack.apps import bookinfo, online_boutique
from meshstack.apps.online_boutique import boutique_image
from meshstack.recipes import (
    EGRESS_GATEWAY,
    INGRESS_GATEWAY,
    bookinfo_ingress,
    boutique_ingress,
    sample_namespaces,
)
from meshstack.spec import (
    AuthorizationPolicy,
    AuthorizationRule,
    Canary,
    ExternalService,
    HttpMatch,
    MeshPolicy,
    MeshSpec,
    MtlsMode,
    PeerAuthentication,
    Protocol,
    RequestSource,
    RetryPolicy,
    ServicePort,
    SidecarScope,
    StringMatch,
    TelemetrySpec,
)

BOUTIQUE_STABLE_TAG = "v0.10.2"
BOUTIQUE_CANDIDATE_TAG = "v0.10.3"


def spec() -> MeshSpec:
    bookinfo_gateway, bookinfo_route = bookinfo_ingress("bookinfo.staging.meshstack.test")
    boutique_gateway, _ = boutique_ingress("shop.staging.meshstack.test")
    return MeshSpec(
        stack="staging",
        namespaces=sample_namespaces(),
        apps=(
            bookinfo(replicas=2),
            online_boutique(loadgenerator=True, tag=BOUTIQUE_STABLE_TAG, replicas=2),
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
    )
