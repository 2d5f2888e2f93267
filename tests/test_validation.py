"""Validation reports every problem at once, each at its field path, with what is valid."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from builders import route, shop
from meshstack.spec import (
    AbortFault,
    App,
    AuthorizationPolicy,
    AuthorizationRule,
    Canary,
    CanaryAnalysis,
    ConsistentHash,
    DelayFault,
    Destination,
    DestinationPolicy,
    ExternalService,
    FaultInjection,
    Gateway,
    GatewayServer,
    HttpMatch,
    JwtRule,
    LoadBalancer,
    LocalRateLimit,
    MeshSpec,
    Mirror,
    Namespace,
    PeerAuthentication,
    RequestSource,
    RetryPolicy,
    ServerProtocol,
    ServicePort,
    SidecarInjection,
    SidecarScope,
    StringMatch,
    Subset,
    Version,
    Workload,
)
from meshstack.validation import SpecInvalid, check, validate


def _with_namespaces(*namespaces: Namespace) -> MeshSpec:
    return shop().model_copy(update={"namespaces": namespaces})


def _with_app(app: App) -> MeshSpec:
    spec = shop()
    return spec.model_copy(update={"apps": (*spec.apps, app)})


def _gateway(*servers: GatewayServer) -> Gateway:
    return Gateway(name="edge", namespace="shop", servers=servers)


INVALID: dict[str, tuple[Callable[[], MeshSpec], str, str]] = {
    "subset used but not defined": (
        lambda: shop(virtual_services=(route(Destination(service="api", subset="v9")),)),
        "policy.virtual_services[api].http[0].destinations[0].subset",
        "subset 'v9' of 'api' is not defined",
    ),
    "weights not summing to 100": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api", subset="v1", weight=80),
                    Destination(service="api", subset="v2", weight=30),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].destinations",
        "sum to 110; they must sum to 100",
    ),
    "weight missing on a split": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api", subset="v1", weight=80),
                    Destination(service="api", subset="v2"),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].destinations",
        "needs a weight",
    ),
    "route to an unknown service": (
        lambda: shop(virtual_services=(route(Destination(service="billing")),)),
        "policy.virtual_services[api].http[0].destinations[0].service",
        "no workload 'billing' in namespace 'shop'",
    ),
    "route to an unknown port": (
        lambda: shop(virtual_services=(route(Destination(service="api", port=1234)),)),
        "policy.virtual_services[api].http[0].destinations[0].port",
        "has no port 1234; its ports: [9090]",
    ),
    "two VirtualServices for one host": (
        lambda: shop(
            virtual_services=(
                route(Destination(service="api"), name="api-a"),
                route(Destination(service="api"), name="api-b", hosts=("api.shop",)),
            )
        ),
        "policy.virtual_services[api-b].hosts",
        "already routed by VirtualService 'api-a'",
    ),
    "a canary and a VirtualService on one host": (
        lambda: shop(
            virtual_services=(route(Destination(service="api")),),
            canaries=(Canary(service="api", namespace="shop", stable="v1", candidate="v2"),),
        ),
        "policy.canaries[api].service",
        "already routed by VirtualService 'api'",
    ),
    "second mesh-wide PeerAuthentication": (
        lambda: shop(peer_authentications=(PeerAuthentication(), PeerAuthentication(name="again"))),
        "policy.peer_authentications[1]",
        "a second mesh-wide PeerAuthentication",
    ),
    "service account no workload has": (
        lambda: shop(
            authorization_policies=(
                AuthorizationPolicy(
                    name="api-callers",
                    namespace="shop",
                    workload="api",
                    rules=(
                        AuthorizationRule(
                            sources=(RequestSource(service_accounts=("shop/ghost",)),)
                        ),
                    ),
                ),
            )
        ),
        "policy.authorization_policies[api-callers].rules[0].sources[0].service_accounts[0]",
        "no workload runs as service account 'ghost' in namespace 'shop'",
    ),
    "namespace no workload has": (
        lambda: shop(
            authorization_policies=(
                AuthorizationPolicy(
                    name="api-callers",
                    namespace="shop",
                    rules=(AuthorizationRule(sources=(RequestSource(namespaces=("nowhere",)),)),),
                ),
            )
        ),
        "policy.authorization_policies[api-callers].rules[0].sources[0].namespaces[0]",
        "namespace 'nowhere' is not declared",
    ),
    "empty rule that would match everything": (
        lambda: shop(
            authorization_policies=(
                AuthorizationPolicy(name="oops", namespace="shop", rules=(AuthorizationRule(),)),
            )
        ),
        "policy.authorization_policies[oops].rules[0]",
        "an empty rule matches every request",
    ),
    "JWT without a token-requiring policy": (
        lambda: shop(
            jwt_rules=(
                JwtRule(
                    name="jwt",
                    namespace="shop",
                    issuer="https://issuer.test",
                    jwks_uri="https://issuer.test/jwks.json",
                    require_token=False,
                ),
            )
        ),
        "policy.jwt_rules[jwt].require_token",
        "accepts requests that carry no token",
    ),
    "JWT keys over plain http": (
        lambda: shop(
            jwt_rules=(
                JwtRule(
                    name="jwt",
                    namespace="shop",
                    issuer="https://issuer.test",
                    jwks_uri="http://issuer.test/jwks.json",
                ),
            )
        ),
        "policy.jwt_rules[jwt].jwks_uri",
        "should be an https:// URL",
    ),
    "wildcard hosts on HTTPS without TLS": (
        lambda: shop(
            gateways=(
                _gateway(GatewayServer(port=443, protocol=ServerProtocol.HTTPS, hosts=("*",))),
            )
        ),
        "policy.gateways[edge].servers[0].tls_secret",
        "an HTTPS server with wildcard hosts needs a certificate: set tls_secret to a TLS "
        "Secret in namespace 'istio-ingress', where the gateway's proxy runs",
    ),
    "fault percentage above 100": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api"),
                    fault=FaultInjection(abort=AbortFault(http_status=500, percentage=150)),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].fault.abort.percentage",
        "expected a percentage between 0 and 100",
    ),
    "mirror percentage below 0": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api", subset="v1"),
                    mirror=Mirror(service="api", subset="v2", percentage=-1),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].mirror.percentage",
        "expected a percentage between 0 and 100",
    ),
    "malformed timeout": (
        lambda: shop(virtual_services=(route(Destination(service="api"), timeout="5 seconds"),)),
        "policy.virtual_services[api].http[0].timeout",
        "expected a duration",
    ),
    "malformed delay": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api"),
                    fault=FaultInjection(delay=DelayFault(fixed_delay="5", percentage=10)),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].fault.delay.fixed_delay",
        "expected a duration",
    ),
    "bad port number": (
        lambda: _with_app(
            App(
                name="extra",
                namespace="shop",
                workloads=(
                    Workload(
                        name="db",
                        ports=(ServicePort(number=70000),),
                        versions=(Version(image="db"),),
                    ),
                ),
            )
        ),
        "apps[extra].workloads[db].ports[0].number",
        "expected a port number between 1 and 65535",
    ),
    "canary candidate image equals stable": (
        lambda: shop(
            destination_policies=(),
            canaries=(
                Canary(
                    service="web",
                    namespace="shop",
                    stable="v1",
                    candidate="v2",
                    candidate_image="web:1",
                ),
            ),
        ),
        "policy.canaries[web].candidate_image",
        "the candidate runs the same image as stable",
    ),
    "canary candidate without image": (
        lambda: shop(canaries=(Canary(service="web", namespace="shop", candidate="v2"),)),
        "policy.canaries[web].candidate_image",
        "give its image in candidate_image",
    ),
    "canary of an unknown stable version": (
        lambda: shop(
            destination_policies=(),
            canaries=(Canary(service="api", namespace="shop", stable="v0", candidate="v2"),),
        ),
        "policy.canaries[api].stable",
        "'api' has no version 'v0'",
    ),
    "canary analysis steps out of order": (
        lambda: shop(
            destination_policies=(),
            canaries=(
                Canary(service="api", namespace="shop", analysis=CanaryAnalysis(steps=(10, 5))),
            ),
        ),
        "policy.canaries[api].analysis.steps",
        "steps must increase strictly",
    ),
    "canary weight off its analysis's steps": (
        lambda: shop(
            destination_policies=(),
            canaries=(
                Canary(service="api", namespace="shop", weight=20, analysis=CanaryAnalysis()),
            ),
        ),
        "policy.canaries[api].weight",
        "weight 20 is not a step of its analysis (1, 10, 50, 100)",
    ),
    "canary analysis of a match-routed canary": (
        lambda: shop(
            destination_policies=(),
            canaries=(
                Canary(
                    service="api",
                    namespace="shop",
                    match=(HttpMatch(headers={"canary": StringMatch(exact="1")}),),
                    analysis=CanaryAnalysis(),
                ),
            ),
        ),
        "policy.canaries[api].analysis",
        "a canary routed by match has none",
    ),
    "canary analysis interval too short for rates": (
        lambda: shop(
            destination_policies=(),
            canaries=(
                Canary(service="api", namespace="shop", analysis=CanaryAnalysis(interval="30s")),
            ),
        ),
        "policy.canaries[api].analysis.interval",
        "use '1m' or more",
    ),
    "subset selecting an undeployed version": (
        lambda: shop(
            destination_policies=(
                DestinationPolicy(
                    service="api", namespace="shop", subsets=(Subset(name="v3", version="v3"),)
                ),
            )
        ),
        "policy.destination_policies[0].subsets[v3].version",
        "no Deployment of 'api' has version 'v3'",
    ),
    "two DestinationPolicies for one service": (
        lambda: shop(
            destination_policies=(
                DestinationPolicy(service="api", namespace="shop"),
                DestinationPolicy(service="api.shop", namespace="istio-ingress"),
            )
        ),
        "policy.destination_policies[1].service",
        "already has a DestinationPolicy",
    ),
    "load balancer and consistent hash together": (
        lambda: shop(
            destination_policies=(
                DestinationPolicy(
                    service="api",
                    namespace="shop",
                    load_balancer=LoadBalancer.RANDOM,
                    consistent_hash=ConsistentHash(use_source_ip=True),
                ),
            )
        ),
        "policy.destination_policies[0].load_balancer",
        "not both",
    ),
    "string match with two kinds": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api"),
                    match=(HttpMatch(uri=StringMatch(exact="/a", prefix="/a")),),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].match[0].uri",
        "set exactly one of exact, prefix or regex",
    ),
    "unknown retry condition": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api"),
                    retries=RetryPolicy(attempts=3, retry_on=("5xx", "timeouts")),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].retries.retry_on[1]",
        "unknown retry condition 'timeouts'",
    ),
    "HTTP status outside 200-599": (
        lambda: shop(
            virtual_services=(
                route(
                    Destination(service="api"),
                    fault=FaultInjection(abort=AbortFault(http_status=99, percentage=5)),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].fault.abort.http_status",
        "between 200 and 599",
    ),
    "call to an unknown workload": (
        lambda: _with_app(
            App(
                name="extra",
                namespace="shop",
                workloads=(
                    Workload(name="cron", calls=("mailer",), versions=(Version(image="cron"),)),
                ),
            )
        ),
        "apps[extra].workloads[cron].calls[0]",
        "no workload 'mailer' exists in namespace 'shop'",
    ),
    "app in an undeclared namespace": (
        lambda: _with_app(
            App(
                name="extra",
                namespace="elsewhere",
                workloads=(Workload(name="cron", versions=(Version(image="cron"),)),),
            )
        ),
        "apps[extra].namespace",
        "namespace 'elsewhere' is not declared",
    ),
    "revision injection without a revision": (
        lambda: _with_namespaces(
            Namespace(name="shop", injection=SidecarInjection.REVISION),
            Namespace(name="istio-ingress"),
        ),
        "namespaces[shop].revision",
        "injection=REVISION needs the istiod revision",
    ),
    "namespace name that is not a DNS label": (
        lambda: _with_namespaces(Namespace(name="Shop_1"), Namespace(name="shop")),
        "namespaces[Shop_1].name",
        "a DNS-1123 label",
    ),
    "port-level mTLS on a port the workload lacks": (
        lambda: shop(
            peer_authentications=(
                PeerAuthentication(namespace="shop", workload="api", port_modes={8443: "DISABLE"}),
            )
        ),
        "policy.peer_authentications[0].port_modes[8443]",
        "'api' has no container port 8443",
    ),
    "egress through an undeclared egress gateway": (
        lambda: shop(
            external_services=(
                ExternalService(
                    name="payments",
                    namespace="shop",
                    hosts=("payments.test",),
                    ports=(ServicePort(number=443, protocol="tls"),),
                    via_egress_gateway=True,
                ),
            )
        ),
        "policy.external_services[payments].egress_gateway",
        "no gateway workload 'istio-egressgateway'",
    ),
    "sidecar egress host without namespace": (
        lambda: shop(sidecars=(SidecarScope(namespace="shop", egress_hosts=("api",)),)),
        "policy.sidecars[0].egress_hosts[0]",
        "should be 'namespace/host'",
    ),
    "rate limit refilling more than the bucket holds": (
        lambda: shop(
            rate_limits=(
                LocalRateLimit(
                    name="api-limit",
                    namespace="shop",
                    workload="api",
                    max_tokens=10,
                    tokens_per_fill=20,
                ),
            )
        ),
        "policy.rate_limits[api-limit].tokens_per_fill",
        "must not exceed max_tokens",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID), ids=str)
def test_an_invalid_spec_is_reported_at_its_field_path(case: str) -> None:
    build, path, message = INVALID[case]
    problems = validate(build())
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_there_are_at_least_25_distinct_invalid_specs() -> None:
    assert len({path for _, path, _ in INVALID.values()}) >= 25


def test_the_valid_base_spec_has_no_problems() -> None:
    assert validate(shop()) == []


def test_every_problem_is_reported_at_once_sorted_by_path() -> None:
    spec = shop(
        virtual_services=(
            route(
                Destination(service="api", subset="v9", weight=60),
                Destination(service="ghost", weight=60),
                timeout="soon",
            ),
        ),
        peer_authentications=(PeerAuthentication(), PeerAuthentication(name="twice")),
    )
    paths = [p.path for p in validate(spec)]
    assert paths == sorted(paths)
    assert {
        "policy.virtual_services[api].http[0].destinations[0].subset",
        "policy.virtual_services[api].http[0].destinations[1].service",
        "policy.virtual_services[api].http[0].destinations",
        "policy.virtual_services[api].http[0].timeout",
        "policy.peer_authentications[1]",
    } <= set(paths)


def test_check_raises_with_every_problem_in_the_message() -> None:
    spec = shop(virtual_services=(route(Destination(service="api", subset="v9"), timeout="x"),))
    with pytest.raises(SpecInvalid) as raised:
        check(spec)
    assert len(raised.value.problems) == 2
    assert "nothing was registered" in str(raised.value)
    assert "http[0].timeout" in str(raised.value)


def test_the_three_stacks_are_valid(stack_specs: dict[str, MeshSpec]) -> None:
    for name, spec in stack_specs.items():
        assert validate(spec) == [], name


def test_a_mesh_wide_sidecar_lives_in_the_root_namespace() -> None:
    """Istio config in the root namespace applies mesh-wide (a default Sidecar there is the
    mesh's): the root namespace counts as declared for config, as it already did for
    authorization policies, and every "not declared" names the candidates."""
    assert validate(shop(sidecars=(SidecarScope(namespace="istio-system"),))) == []
    (problem,) = validate(shop(sidecars=(SidecarScope(namespace="shp"),)))
    assert problem.path == "policy.sidecars[0].namespace"
    assert "namespace 'shp' is not declared" in problem.message
    assert "did you mean 'shop'?" in problem.message
