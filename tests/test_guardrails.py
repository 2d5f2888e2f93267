"""The guardrails as pure functions: planned resources in, violation messages out."""

from __future__ import annotations

from typing import Any

import pytest
from meshstack.guardrails import (
    RESOURCE_GUARDRAILS,
    GuardrailSettings,
    PlannedResource,
)
from meshstack.guardrails.ambient import request_rules_on_a_waypoint
from meshstack.guardrails.authorization import no_allow_all
from meshstack.guardrails.egress import controlled_egress_in_production
from meshstack.guardrails.images import floating_tag, no_floating_images
from meshstack.guardrails.mtls import (
    mesh_wide_strict_mtls_in_production,
    strict_mtls_in_production,
)
from meshstack.guardrails.production import (
    awaited_in_production,
    fail_closed_validation_in_production,
    no_fault_injection_in_production,
)
from meshstack.guardrails.protection import protected_istio_crds
from meshstack.guardrails.routes import weights_sum_to_100
from meshstack.stack_config import production_from_stack_config

DEFAULTS = GuardrailSettings(production=True)
"""A production stack's settings (its ``meshstack:production`` is true)."""
DEV = GuardrailSettings()
PEER_AUTH = "kubernetes:security.istio.io/v1:PeerAuthentication"
AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
VS = "kubernetes:networking.istio.io/v1:VirtualService"
DR = "kubernetes:networking.istio.io/v1:DestinationRule"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CHART = "kubernetes:helm.sh/v4:Chart"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def planned(
    type_: str,
    spec: dict[str, Any] | None = None,
    *,
    stack: str = "prod",
    namespace: str = "bookinfo",
    name: str = "default",
    protect: bool = False,
    **props: Any,
) -> PlannedResource:
    body: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace}, **props}
    if spec is not None:
        body["spec"] = spec
    urn = f"urn:pulumi:{stack}::meshstack::{type_}::{name}"
    return PlannedResource(type_, body, urn, protect)


def test_a_planned_resource_knows_its_stack_kind_and_group() -> None:
    resource = planned(VS, {}, stack="staging", name="reviews")
    assert resource.stack == "staging"
    assert resource.kind == "VirtualService"
    assert resource.api_group == "networking.istio.io"
    assert resource.display_name == "VirtualService bookinfo/reviews"


def test_production_is_the_stacks_setting_and_the_root_namespace_policy_config() -> None:
    assert DEV.production is False  # a stack is production only when it says so
    custom = GuardrailSettings.from_config({"meshRootNamespace": "mesh-root"}, production=True)
    assert custom.production and custom.mesh_root_namespace == "mesh-root"
    assert production_from_stack_config({"meshstack:production": "true"}) is True
    assert production_from_stack_config({"meshstack:production": "false"}) is False
    assert production_from_stack_config({"meshstack:production": "yes"}) is False
    assert production_from_stack_config({}) is False


def test_the_catalog_names_every_resource_guardrail_once() -> None:
    names = [g.name for g in RESOURCE_GUARDRAILS]
    assert len(names) == len(set(names)) == 7


# --- strict mTLS in production ---------------------------------------------------------


def test_permissive_peer_authentication_is_refused_in_production_only() -> None:
    permissive = {"mtls": {"mode": "PERMISSIVE"}}
    assert list(strict_mtls_in_production(planned(PEER_AUTH, permissive), DEFAULTS)) == [
        "PeerAuthentication bookinfo/default: spec.mtls.mode is PERMISSIVE, which accepts "
        "plaintext; stack 'prod' is production and needs STRICT (or UNSET to inherit)"
    ]
    assert list(strict_mtls_in_production(planned(PEER_AUTH, permissive, stack="dev"), DEV)) == []


def test_a_port_left_in_plaintext_is_refused_too() -> None:
    spec = {"mtls": {"mode": "STRICT"}, "portLevelMtls": {"6379": {"mode": "DISABLE"}}}
    [message] = strict_mtls_in_production(planned(PEER_AUTH, spec), DEFAULTS)
    assert "spec.portLevelMtls[6379].mode is DISABLE" in message


def test_strict_and_unset_modes_pass() -> None:
    for spec in ({"mtls": {"mode": "STRICT"}}, {"mtls": {"mode": "UNSET"}}, {}):
        assert list(strict_mtls_in_production(planned(PEER_AUTH, spec), DEFAULTS)) == []


def test_a_destination_rule_sending_plaintext_inside_the_mesh_is_refused() -> None:
    host = "reviews.bookinfo.svc.cluster.local"
    disabled = {
        "host": host,
        "subsets": [{"name": "v2", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}],
    }
    [message] = strict_mtls_in_production(planned(DR, disabled), DEFAULTS)
    assert "spec.subsets[v2].trafficPolicy.tls.mode is DISABLE" in message and host in message
    external = {"host": "api.example.test", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}
    assert list(strict_mtls_in_production(planned(DR, external), DEFAULTS)) == []


@pytest.mark.parametrize(
    "host",
    ["api.shop.svc.corp.internal", "api", "*.shop.svc.cluster.local", "api.shop.svc"],
)
def test_plaintext_to_an_in_mesh_host_is_refused_whatever_the_cluster_domain(host: str) -> None:
    """A Service's name is ``<svc>.<ns>.svc.<cluster domain>``, or a short name the
    DestinationRule's namespace completes: in-mesh whichever domain the cluster uses."""
    disabled = {"host": host, "trafficPolicy": {"tls": {"mode": "DISABLE"}}}
    [message] = strict_mtls_in_production(planned(DR, disabled), DEFAULTS)
    assert f"in-mesh host {host}" in message


def test_production_must_declare_mesh_wide_strict_mtls() -> None:
    mesh_wide = planned(PEER_AUTH, {"mtls": {"mode": "STRICT"}}, namespace="istio-system")
    scoped = planned(PEER_AUTH, {"mtls": {"mode": "STRICT"}}, namespace="bookinfo")
    selected = planned(
        PEER_AUTH,
        {"selector": {"matchLabels": {"app": "x"}}, "mtls": {"mode": "STRICT"}},
        namespace="istio-system",
    )
    assert list(mesh_wide_strict_mtls_in_production([scoped, mesh_wide], DEFAULTS)) == []
    [violation] = mesh_wide_strict_mtls_in_production([scoped, selected], DEFAULTS)
    assert "declares no mesh-wide STRICT PeerAuthentication" in violation.message
    dev = planned(
        PEER_AUTH, {"mtls": {"mode": "PERMISSIVE"}}, namespace="istio-system", stack="dev"
    )
    assert list(mesh_wide_strict_mtls_in_production([dev], DEV)) == []


def test_the_root_namespace_is_configurable() -> None:
    root = GuardrailSettings.from_config({"meshRootNamespace": "mesh-root"}, production=True)
    mesh_wide = planned(PEER_AUTH, {"mtls": {"mode": "STRICT"}}, namespace="mesh-root")
    assert list(mesh_wide_strict_mtls_in_production([mesh_wide], root)) == []
    assert list(mesh_wide_strict_mtls_in_production([mesh_wide], DEFAULTS)) != []


# --- images -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("docker.io/istio/examples-bookinfo-ratings-v1:1.20.3", None),
        ("registry.local:5000/shop/cart@sha256:" + "a" * 64, None),
        ("registry.local:5000/shop/cart", "no tag"),  # the port is not a tag
        ("busybox", "no tag"),
        ("busybox:latest", "latest"),
        ("auto", None),  # Istio's injector fills in the proxy image
    ],
)
def test_an_image_floats_without_a_version_tag_or_digest(image: str, why: str | None) -> None:
    assert floating_tag(image) == why


def test_every_container_list_of_a_workload_is_checked() -> None:
    pod = {
        "initContainers": [{"name": "init", "image": "busybox"}],
        "containers": [{"name": "app", "image": "shop/app:1.2.3"}],
    }
    deployment = planned(DEPLOYMENT, {"template": {"spec": pod}}, name="app")
    assert list(no_floating_images(deployment, DEFAULTS)) == [
        "Deployment bookinfo/app: initContainers[init] image 'busybox' has no tag; "
        "pin a version tag or a digest"
    ]
    cron = planned(
        "kubernetes:batch/v1:CronJob",
        {
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:latest"}]}}}
            }
        },
    )
    assert len(list(no_floating_images(cron, DEFAULTS))) == 1


def test_chart_values_pinning_latest_are_refused() -> None:
    chart = PlannedResource(
        CHART,
        {
            "chart": "istiod",
            "values": {"global": {"tag": "latest"}, "sidecars": [{"image": "x:latest"}]},
        },
        "urn:pulumi:dev::meshstack::kubernetes:helm.sh/v4:Chart::istiod",
    )
    assert list(no_floating_images(chart, DEFAULTS)) == [
        "chart 'istiod': values.global.tag sets tag latest; pin a version tag",
        "chart 'istiod': values.sidecars[0].image sets image x:latest; pin a version tag",
    ]


# --- traffic splits ---------------------------------------------------------------------


def _route(*weights: float | None) -> list[dict[str, Any]]:
    host = "reviews.bookinfo.svc.cluster.local"
    return [
        {
            "destination": {"host": host, "subset": f"v{i + 1}"},
            **({"weight": w} if w is not None else {}),
        }
        for i, w in enumerate(weights)
    ]


def test_a_split_that_does_not_sum_to_100_is_refused() -> None:
    vs = planned(VS, {"http": [{"name": "split", "route": _route(90, 20)}]}, name="reviews")
    assert list(weights_sum_to_100(vs, DEFAULTS)) == [
        "VirtualService bookinfo/reviews: spec.http[split].route: weights sum to 110, not 100 "
        "(reviews.bookinfo.svc.cluster.local/v1=90, reviews.bookinfo.svc.cluster.local/v2=20)"
    ]


def test_a_missing_weight_in_a_split_counts_as_zero() -> None:
    vs = planned(VS, {"tcp": [{"route": _route(80, None)}]})
    [message] = weights_sum_to_100(vs, DEFAULTS)
    assert "spec.tcp[0].route: weights sum to 80" in message and "v2=unset" in message


def test_whole_splits_single_destinations_and_wire_floats_pass() -> None:
    for route in (_route(90, 10), _route(None), _route(100), _route(90.0, 10.0), _route(0, 100)):
        assert list(weights_sum_to_100(planned(VS, {"http": [{"route": route}]}), DEFAULTS)) == []


def test_fractional_or_out_of_range_weights_are_refused() -> None:
    for route in (_route(50.5, 49.5), _route(120, -20), _route(60)):
        assert (
            len(list(weights_sum_to_100(planned(VS, {"http": [{"route": route}]}), DEFAULTS))) == 1
        )


# --- authorization ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"from": []},
        {"from": [{"source": {}}]},
        {"from": [{"source": {"principals": ["*"]}}]},
        {"from": [{"source": {"namespaces": ["*"], "principals": ["*"]}}]},
    ],
)
def test_an_allow_rule_matching_every_caller_is_refused(rule: dict[str, Any]) -> None:
    policy = planned(AUTHZ, {"action": "ALLOW", "rules": [rule]}, name="open")
    assert list(no_allow_all(policy, DEFAULTS)) == [
        "AuthorizationPolicy bookinfo/open: spec.rules[0] allows every caller; name the callers "
        "(principals of their service accounts) or the operations instead"
    ]


@pytest.mark.parametrize(
    "spec",
    [
        {
            "rules": [
                {"from": [{"source": {"principals": ["cluster.local/ns/bookinfo/sa/reviews"]}}]}
            ]
        },
        {"rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]},
        {"rules": [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]},  # a JWT is required
        {"action": "DENY", "rules": [{}]},  # denying everything is not an allow-all
        {},  # ALLOW with no rules denies everything
    ],
)
def test_allow_rules_that_name_callers_operations_or_tokens_pass(spec: dict[str, Any]) -> None:
    assert list(no_allow_all(planned(AUTHZ, spec), DEFAULTS)) == []


# --- protected CRDs ---------------------------------------------------------------------


def _base_chart(chart: str, *, stack: str = "prod", protect: bool = False) -> PlannedResource:
    urn = f"urn:pulumi:{stack}::meshstack::{CHART}::istio-base"
    return PlannedResource(CHART, {"chart": chart}, urn, protect)


def test_the_crd_chart_must_be_protected_in_production() -> None:
    assert list(protected_istio_crds(_base_chart("base"), DEFAULTS)) == [
        "chart 'base' holds Istio's CRDs but is not protected in production stack 'prod'; "
        "deleting it deletes every Istio object — set protect (IstioInstall.protect)"
    ]
    for chart in ("oci://registry.local/istio/base", "/srv/istio/manifests/charts/base/"):
        assert len(list(protected_istio_crds(_base_chart(chart), DEFAULTS))) == 1
    assert list(protected_istio_crds(_base_chart("base", protect=True), DEFAULTS)) == []
    assert list(protected_istio_crds(_base_chart("base", stack="dev"), DEV)) == []
    assert list(protected_istio_crds(_base_chart("istiod"), DEFAULTS)) == []


def test_istio_crds_registered_directly_must_be_protected_in_production() -> None:
    crd = planned(CRD, {"group": "networking.istio.io"}, name="virtualservices.networking.istio.io")
    assert len(list(protected_istio_crds(crd, DEFAULTS))) == 1
    other = planned(CRD, {"group": "cert-manager.io"}, name="certificates.cert-manager.io")
    assert list(protected_istio_crds(other, DEFAULTS)) == []


SERVICE_ENTRY = "kubernetes:networking.istio.io/v1:ServiceEntry"
PAYMENTS_ENTRY = {"hosts": ["pay.example.test"], "location": "MESH_EXTERNAL"}


def _through_gateway(**route: Any) -> dict[str, Any]:
    """The mesh half of an egress VirtualService: sidecars → the egress gateway."""
    gateway = "istio-egressgateway.istio-egress.svc.cluster.local"
    return {
        "hosts": ["pay.example.test"],
        "gateways": ["payments-egress", "mesh"],
        "http": [
            {
                "match": [{"gateways": ["mesh"], "port": 80}],
                "route": [{"destination": {"host": gateway, "subset": "payments"}}],
                **route,
            },
            {
                "match": [{"gateways": ["payments-egress"], "port": 80}],
                "route": [{"destination": {"host": "pay.example.test", "port": {"number": 443}}}],
            },
        ],
    }


def test_production_egress_must_leave_through_an_egress_gateway() -> None:
    entry = planned(SERVICE_ENTRY, PAYMENTS_ENTRY)
    [violation] = controlled_egress_in_production([entry], DEFAULTS)
    assert "pay.example.test" in violation.message and "egress gateway" in violation.message
    assert violation.urn == entry.urn
    steered = planned(VS, _through_gateway())
    assert list(controlled_egress_in_production([entry, steered], DEFAULTS)) == []
    # A route that only the gateway uses does not steer the sidecars.
    gateway_only = _through_gateway()
    gateway_only["http"] = gateway_only["http"][1:]
    assert list(controlled_egress_in_production([entry, planned(VS, gateway_only)], DEFAULTS))
    # In-mesh hosts and other stacks are not its business.
    internal = planned(SERVICE_ENTRY, {**PAYMENTS_ENTRY, "location": "MESH_INTERNAL"})
    assert list(controlled_egress_in_production([internal], DEFAULTS)) == []
    dev = planned(SERVICE_ENTRY, PAYMENTS_ENTRY, stack="dev")
    assert list(controlled_egress_in_production([dev], DEV)) == []


NAMESPACE = "kubernetes:core/v1:Namespace"
REQUEST_AUTHN = "kubernetes:security.istio.io/v1:RequestAuthentication"


def _namespace(name: str, **labels: str) -> PlannedResource:
    return PlannedResource(
        NAMESPACE,
        {"metadata": {"name": name, "labels": labels}},
        f"urn:pulumi:dev::meshstack::{NAMESPACE}::{name}",
    )


def test_request_rules_in_an_ambient_namespace_must_attach_to_a_waypoint() -> None:
    ambient = _namespace("shop", **{"istio.io/dataplane-mode": "ambient"})
    paths = {
        "selector": {"matchLabels": {"app": "api"}},
        "rules": [{"to": [{"operation": {"paths": ["/admin*"]}}]}],
    }
    on_pods = planned(AUTHZ, paths, stack="dev", namespace="shop", name="api-admin")
    [violation] = request_rules_on_a_waypoint([ambient, on_pods], DEFAULTS)
    assert "ztunnel" in violation.message and "deny" in violation.message
    assert violation.urn == on_pods.urn
    tokens = planned(REQUEST_AUTHN, {"jwtRules": [{}]}, stack="dev", namespace="shop")
    assert len(list(request_rules_on_a_waypoint([ambient, tokens], DEFAULTS))) == 1
    # Attached to the waypoint, L4 only, or in a sidecar namespace: nothing to say.
    on_waypoint = {**paths, "targetRefs": [{"kind": "Service", "group": "", "name": "api"}]}
    del on_waypoint["selector"]
    l4 = {"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]}]}
    sidecars = _namespace("shop", **{"istio-injection": "enabled"})
    for resources in (
        [ambient, planned(AUTHZ, on_waypoint, stack="dev", namespace="shop")],
        [ambient, planned(AUTHZ, l4, stack="dev", namespace="shop")],
        [sidecars, on_pods],
    ):
        assert list(request_rules_on_a_waypoint(resources, DEFAULTS)) == []


# --- what production must not do even when the spec says so ----------------------------


def test_fault_injection_is_refused_in_production_only() -> None:
    faulty = {"http": [{"name": "canary", "fault": {"abort": {"httpStatus": 503}}}]}
    [message] = no_fault_injection_in_production(planned(VS, faulty, name="reviews"), DEFAULTS)
    assert message.startswith("VirtualService bookinfo/reviews: spec.http[canary].fault injects")
    assert list(no_fault_injection_in_production(planned(VS, faulty, stack="dev"), DEV)) == []
    assert list(no_fault_injection_in_production(planned(VS, {"http": [{}]}), DEFAULTS)) == []


def test_skipping_readiness_is_one_finding_for_the_stack() -> None:
    def annotated(name: str) -> PlannedResource:
        return PlannedResource(
            "kubernetes:apps/v1:Deployment",
            {"metadata": {"name": name, "annotations": {"pulumi.com/skipAwait": "true"}}},
            f"urn:pulumi:prod::meshstack::kubernetes:apps/v1:Deployment::{name}",
        )

    [violation] = awaited_in_production([annotated("a"), annotated("b")], DEFAULTS)
    assert violation.message.startswith("2 object(s) of production stack 'prod' carry")
    assert list(awaited_in_production([annotated("a")], DEV)) == []


def test_a_webhook_failing_open_is_refused_in_production() -> None:
    def base(policy: str) -> PlannedResource:
        return PlannedResource(
            "kubernetes:helm.sh/v4:Chart",
            {"chart": "base", "values": {"base": {"validationFailurePolicy": policy}}},
            "urn:pulumi:prod::meshstack::kubernetes:helm.sh/v4:Chart::istio-base",
        )

    [message] = fail_closed_validation_in_production(base("Ignore"), DEFAULTS)
    assert message.startswith("chart 'base': values.base.validationFailurePolicy is Ignore")
    assert list(fail_closed_validation_in_production(base("Fail"), DEFAULTS)) == []
    assert list(fail_closed_validation_in_production(base("Ignore"), DEV)) == []


def test_an_istio_webhook_failing_open_is_refused_in_production() -> None:
    def webhook(policy: str) -> PlannedResource:
        return PlannedResource(
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration",
            {
                "metadata": {"name": "istiod-default-validator"},
                "webhooks": [{"name": "validation.istio.io", "failurePolicy": policy}],
            },
            "urn:pulumi:prod::meshstack::kubernetes:admissionregistration.k8s.io/v1:"
            "ValidatingWebhookConfiguration::istiod-default-validator",
        )

    [message] = fail_closed_validation_in_production(webhook("Ignore"), DEFAULTS)
    assert "webhook 'validation.istio.io' has failurePolicy Ignore" in message
    assert list(fail_closed_validation_in_production(webhook("Fail"), DEFAULTS)) == []
    assert list(fail_closed_validation_in_production(webhook("Ignore"), DEV)) == []
