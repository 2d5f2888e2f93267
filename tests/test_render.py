"""Renderers turn specs into the Kubernetes and Istio objects Istio expects."""

from __future__ import annotations

from typing import Any

from builders import route, shop
from meshstack.render import render
from meshstack.spec import (
    AbortFault,
    Canary,
    Destination,
    ExternalService,
    FaultInjection,
    GatewayWorkload,
    HttpMatch,
    JwtRule,
    Mirror,
    Protocol,
    ServicePort,
    StringMatch,
)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def test_a_weighted_route_renders_integer_weights_and_full_hosts() -> None:
    spec = shop(
        virtual_services=(
            route(
                Destination(service="api", subset="v1", weight=90),
                Destination(service="api", subset="v2", weight=10),
                mirror=Mirror(service="api", subset="v2", percentage=25.0),
            ),
        )
    )
    vs = find(render(spec), "VirtualService", "api")
    assert vs["apiVersion"] == "networking.istio.io/v1"
    http = vs["spec"]["http"][0]
    assert http["route"] == [
        {"destination": {"host": "api.shop.svc.cluster.local", "subset": "v1"}, "weight": 90},
        {"destination": {"host": "api.shop.svc.cluster.local", "subset": "v2"}, "weight": 10},
    ]
    assert http["mirrorPercentage"] == {"value": 25}
    assert isinstance(http["mirrorPercentage"]["value"], int)


def test_fault_injection_renders_percentages_and_status() -> None:
    spec = shop(
        virtual_services=(
            route(
                Destination(service="api"),
                fault=FaultInjection(abort=AbortFault(http_status=500, percentage=5)),
            ),
        )
    )
    http = find(render(spec), "VirtualService", "api")["spec"]["http"][0]
    assert http["fault"] == {"abort": {"httpStatus": 500, "percentage": {"value": 5}}}
    assert http["route"] == [{"destination": {"host": "api.shop.svc.cluster.local"}}]


def test_a_canary_yields_its_deployment_subsets_and_split() -> None:
    spec = shop(
        destination_policies=(),
        canaries=(
            Canary(
                service="web",
                namespace="shop",
                stable="v1",
                candidate="v2",
                candidate_image="web:2",
                weight=20,
            ),
        ),
    )
    objects = render(spec)
    deployment = find(objects, "Deployment", "web-v2")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "web:2"
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "version": "v2"}
    rule = find(objects, "DestinationRule", "web")
    assert rule["spec"]["subsets"] == [
        {"name": "v1", "labels": {"version": "v1"}},
        {"name": "v2", "labels": {"version": "v2"}},
    ]
    split = find(objects, "VirtualService", "web")["spec"]["http"][0]["route"]
    assert [(r["destination"]["subset"], r["weight"]) for r in split] == [("v1", 80), ("v2", 20)]


def test_an_ab_canary_sends_matching_requests_to_the_candidate() -> None:
    spec = shop(
        canaries=(
            Canary(
                service="api",
                namespace="shop",
                match=(HttpMatch(headers={"canary": StringMatch(exact="true")}),),
            ),
        )
    )
    http = find(render(spec), "VirtualService", "api")["spec"]["http"]
    assert http[0]["match"] == [{"headers": {"canary": {"exact": "true"}}}]
    assert http[0]["route"][0]["destination"]["subset"] == "v2"
    assert "match" not in http[1] and http[1]["route"][0]["destination"]["subset"] == "v1"


def test_default_deny_is_an_allow_policy_with_an_empty_spec() -> None:
    policy = find(
        render(shop(default_deny_namespaces=("shop",))), "AuthorizationPolicy", "default-deny"
    )
    assert policy["spec"] == {} and policy["metadata"]["namespace"] == "shop"


def test_a_jwt_rule_comes_with_the_policy_that_makes_a_token_mandatory() -> None:
    spec = shop(
        jwt_rules=(
            JwtRule(
                name="jwt",
                namespace="shop",
                workload="web",
                issuer="https://issuer.test",
                jwks_uri="https://issuer.test/jwks",
            ),
        )
    )
    objects = render(spec)
    authn = find(objects, "RequestAuthentication", "jwt")
    assert authn["spec"]["jwtRules"] == [
        {"issuer": "https://issuer.test", "jwksUri": "https://issuer.test/jwks"}
    ]
    deny = find(objects, "AuthorizationPolicy", "jwt-require-token")
    assert deny["spec"]["action"] == "DENY"
    assert deny["spec"]["rules"] == [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}]
    assert deny["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_egress_through_the_gateway_routes_mesh_to_gateway_to_host() -> None:
    spec = shop(
        external_services=(
            ExternalService(
                name="payments",
                namespace="shop",
                hosts=("payments.test",),
                ports=(ServicePort(number=443, protocol=Protocol.TLS),),
                via_egress_gateway=True,
            ),
        )
    ).model_copy(
        update={
            "gateway_workloads": (
                GatewayWorkload(),
                GatewayWorkload(
                    name="istio-egressgateway",
                    namespace="istio-ingress",
                    selector={"istio": "egressgateway"},
                    service_account="istio-egressgateway",
                ),
            )
        }
    )
    objects = render(spec)
    assert find(objects, "ServiceEntry", "payments")["spec"]["location"] == "MESH_EXTERNAL"
    vs = find(objects, "VirtualService", "payments-egress")["spec"]
    hops = [(r["match"][0]["gateways"], r["route"][0]["destination"]["host"]) for r in vs["tls"]]
    assert hops == [
        (["mesh"], "istio-egressgateway.istio-ingress.svc.cluster.local"),
        (["payments-egress"], "payments.test"),
    ]
    gateway = find(objects, "Gateway", "payments-egress")["spec"]
    assert gateway["selector"] == {"istio": "egressgateway"}


def test_sidecar_injection_is_labelled_per_namespace() -> None:
    namespaces = {o["metadata"]["name"]: o for o in render(shop()) if o["kind"] == "Namespace"}
    assert namespaces["shop"]["metadata"]["labels"]["istio-injection"] == "enabled"


def test_deployments_run_as_their_service_account_with_version_labels() -> None:
    deployment = find(render(shop()), "Deployment", "api-v2")
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "api", "version": "v2"}
    assert template["spec"]["serviceAccountName"] == "api"
    assert deployment["spec"]["replicas"] == 1
