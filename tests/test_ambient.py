"""Ambient mode (issue 15 §2): one field moves a namespace between sidecars and ambient,
and every policy follows to where that data plane enforces it.

The judge reads the rendered objects the way Istio's ambient data plane applies them
(:func:`judging_policies`): which AuthorizationPolicies and RequestAuthentications see the
*caller's* identity and requests on the way to a workload — its sidecar; or ztunnel in
front of it; or, with a waypoint, the policies attached to the waypoint for its Service,
while ztunnel behind the waypoint sees only the waypoint's identity. Moving a namespace
to ambient must leave that set unchanged for every workload, put no request-level rule
on ztunnel, and leave every caller → callee verdict of ``graph`` as it was. What ztunnel
alone cannot enforce is refused with the field's path and the fix. The dev stack runs
the Online Boutique in ambient: applied to the API server and analyzed by istioctl in
``test_engine_cluster`` / ``test_engine_render``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import shop
from meshstack.access.graph import enforced_by, to_json, to_markdown, who_can_call_whom
from meshstack.render import render, stack_releases
from meshstack.spec import (
    AuthorizationPolicy,
    AuthorizationRule,
    Dataplane,
    IstioInstall,
    JwtRule,
    MeshSpec,
    Namespace,
    RequestOperation,
    RequestSource,
    SidecarScope,
    Waypoint,
)
from meshstack.spec.observability import LocalRateLimit
from meshstack.validation import validate

Objects = list[dict[str, Any]]
TRUST = "cluster.local"


def _policies() -> dict[str, Any]:
    return {
        "default_deny_namespaces": ("shop",),
        "authorization_policies": (
            AuthorizationPolicy(
                name="api-from-web",
                namespace="shop",
                workload="api",
                rules=(
                    AuthorizationRule(
                        sources=(RequestSource(service_accounts=("shop/web",)),),
                        operations=(RequestOperation(methods=("GET",), paths=("/items*",)),),
                    ),
                ),
            ),
            AuthorizationPolicy(
                name="web-from-shop",
                namespace="shop",
                workload="web",
                rules=(AuthorizationRule(sources=(RequestSource(namespaces=("shop",)),)),),
            ),
        ),
        "jwt_rules": (
            JwtRule(
                name="web-tokens",
                namespace="shop",
                workload="web",
                issuer="https://issuer.test",
                jwks_uri="https://issuer.test/jwks",
                unauthenticated_paths=("/healthz",),
            ),
        ),
    }


def _mesh(
    dataplane: Dataplane, waypoint: Waypoint | None = None, *, per_service: bool = False
) -> MeshSpec:
    """The shop with its policies; ``per_service``: web and api each get their own
    waypoint instead of the namespace's."""
    base = shop(**_policies())
    namespaces = tuple(
        Namespace(name=ns.name, dataplane=dataplane, waypoint=waypoint) if ns.name == "shop" else ns
        for ns in base.namespaces
    )
    if per_service:
        apps = tuple(
            app.model_copy(
                update={
                    "workloads": tuple(
                        w.model_copy(update={"waypoint": Waypoint(name=f"{w.name}-waypoint")})
                        for w in app.workloads
                    )
                }
            )
            for app in base.apps
        )
        base = base.model_copy(update={"apps": apps})
    return base.model_copy(
        update={
            "namespaces": namespaces,
            "install": IstioInstall(ambient=True, gateways=()),
            "gateway_workloads": (),
        }
    )


SIDECARS = _mesh(Dataplane.SIDECAR)
AMBIENT = _mesh(Dataplane.AMBIENT, Waypoint())
PER_SERVICE = _mesh(Dataplane.AMBIENT, per_service=True)
LAYOUTS = {"namespace waypoint": AMBIENT, "a waypoint per service": PER_SERVICE}


def _labels(objects: Objects, kind: str, namespace: str | None, name: str) -> dict[str, str]:
    (found,) = [
        o
        for o in objects
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and o["metadata"].get("namespace") == namespace
    ]
    return dict(found["metadata"]["labels"])


def _selects(policy: dict[str, Any], workload: str) -> bool:
    spec = policy["spec"]
    if "targetRefs" in spec:
        return False
    selector = spec.get("selector")
    return selector is None or selector["matchLabels"].get("app") == workload


def _targets(policy: dict[str, Any], workload: str, waypoint: str) -> bool:
    return any(
        (ref["kind"], ref["name"]) in (("Service", workload), ("Gateway", waypoint))
        for ref in policy["spec"].get("targetRefs", ())
    )


JUDGING_KINDS = ("AuthorizationPolicy", "RequestAuthentication")


def judging_policies(objects: Objects, namespace: str, workload: str) -> dict[str, set[str]]:
    """``{"caller": policies that judge the caller's identity and requests to the
    workload, "behind waypoint": policies ztunnel applies after a waypoint, "waypoint":
    the waypoint}``. A Service's ``istio.io/use-waypoint`` comes before its namespace's."""
    namespace_labels = _labels(objects, "Namespace", None, namespace)
    service_labels = _labels(objects, "Service", namespace, workload)
    local = [
        o for o in objects if o["kind"] in JUDGING_KINDS and o["metadata"]["namespace"] == namespace
    ]
    at_pod = {o["metadata"]["name"] for o in local if _selects(o, workload)}
    waypoint = service_labels.get("istio.io/use-waypoint") or namespace_labels.get(
        "istio.io/use-waypoint"
    )
    if namespace_labels.get("istio.io/dataplane-mode") != "ambient" or waypoint is None:
        return {"caller": at_pod, "behind waypoint": set(), "waypoint": set()}
    at_waypoint = {o["metadata"]["name"] for o in local if _targets(o, workload, waypoint)}
    return {"caller": at_waypoint, "behind waypoint": at_pod, "waypoint": {waypoint}}


def _has_request_attributes(policy: dict[str, Any]) -> bool:
    for rule in policy["spec"].get("rules", ()):
        for source in rule.get("from", ()):
            if {"requestPrincipals", "notRequestPrincipals"} & set(source["source"]):
                return True
        for to in rule.get("to", ()):
            if {"methods", "paths", "notPaths"} & set(to["operation"]):
                return True
    return policy["kind"] == "RequestAuthentication"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("workload", ["web", "api"])
def test_moving_to_ambient_keeps_every_policy_judging_the_same_callers(
    workload: str, layout: str
) -> None:
    sidecars, ambient = render(SIDECARS), render(LAYOUTS[layout])
    before = judging_policies(sidecars, "shop", workload)
    after = judging_policies(ambient, "shop", workload)
    assert before["caller"] and after["caller"] == before["caller"]
    # Behind the waypoint, ztunnel admits the waypoint's identity and nothing else.
    (waypoint,) = after["waypoint"]
    behind = [o for o in ambient if o["metadata"]["name"] in after["behind waypoint"]]
    allowed = [o["spec"]["rules"] for o in behind if o["spec"].get("rules")]
    principal = f"{TRUST}/ns/shop/sa/{waypoint}"
    assert allowed == [[{"from": [{"source": {"principals": [principal]}}]}]]
    assert all(o["spec"].get("action", "ALLOW") == "ALLOW" for o in behind)


def test_the_namespace_and_its_waypoint_are_labelled_as_ambient_reads_them() -> None:
    objects = render(AMBIENT)
    labels = _labels(objects, "Namespace", None, "shop")
    assert labels["istio.io/dataplane-mode"] == "ambient"
    assert labels["istio.io/use-waypoint"] == "waypoint"
    assert labels["istio.io/ingress-use-waypoint"] == "true"
    assert "istio-injection" not in labels and "istio.io/rev" not in labels
    (waypoint,) = [o for o in objects if o["kind"] == "Gateway"]
    assert waypoint["spec"]["gatewayClassName"] == "istio-waypoint"
    assert waypoint["spec"]["listeners"] == [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]
    assert waypoint["metadata"]["labels"]["istio.io/waypoint-for"] == "service"


def test_one_field_is_the_whole_move() -> None:
    assert AMBIENT.model_copy(update={"namespaces": SIDECARS.namespaces}) == SIDECARS, (
        "the two specs differ only in the namespace's data plane"
    )


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_graph_verdicts_do_not_change_with_the_data_plane(layout: str) -> None:
    def verdicts(spec: MeshSpec) -> list[tuple[Any, ...]]:
        return [(c.caller, c.callee, c.verdict, c.reason) for c in who_can_call_whom(spec)]

    assert validate(SIDECARS) == [] and validate(LAYOUTS[layout]) == []
    assert verdicts(LAYOUTS[layout]) == verdicts(SIDECARS)


def test_without_a_waypoint_request_rules_are_refused_with_the_fix() -> None:
    ztunnel_only = _mesh(Dataplane.AMBIENT)
    problems = validate(ztunnel_only)
    paths = sorted(p.path for p in problems)
    assert paths == [
        "policy.authorization_policies[api-from-web].rules[0].operations[0].methods",
        "policy.authorization_policies[api-from-web].rules[0].operations[0].paths",
        "policy.destination_policies[0]",  # api's subsets: applied by a waypoint
        "policy.jwt_rules[web-tokens]",
    ]
    assert all("waypoint=Waypoint()" in p.message for p in problems)
    # L4 rules alone are ztunnel's to enforce: on the pods, by selector, no request attributes.
    l4_only = ztunnel_only.model_copy(
        update={
            "policy": ztunnel_only.policy.model_copy(
                update={
                    "authorization_policies": _policies()["authorization_policies"][1:],
                    "jwt_rules": (),
                    "destination_policies": (),
                }
            )
        }
    )
    assert validate(l4_only) == []
    objects = render(l4_only)
    on_ztunnel = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
    assert on_ztunnel and not any("targetRefs" in o["spec"] for o in on_ztunnel)
    assert not any(_has_request_attributes(o) for o in on_ztunnel)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_no_request_rule_ever_lands_on_ztunnel(layout: str) -> None:
    objects = render(LAYOUTS[layout])
    for policy in objects:
        if policy["kind"] in JUDGING_KINDS and _has_request_attributes(policy):
            assert "targetRefs" in policy["spec"], policy["metadata"]["name"]


def test_the_install_runs_ztunnel_and_the_ambient_profiles() -> None:
    releases = {r.name: r for r in stack_releases(AMBIENT)}
    assert releases["ztunnel"].values["tag"] == AMBIENT.install.version  # type: ignore[union-attr]
    assert releases["istio-cni"].values["global"]["profile"] == "ambient"
    assert releases["istiod"].values["global"]["profile"] == "ambient"
    assert releases["istiod"].values["cni"] == {"enabled": True}
    order = list(releases)
    assert order.index("istio-cni") < order.index("istiod") < order.index("ztunnel")


def _with_namespace(spec: MeshSpec, **fields: Any) -> MeshSpec:
    namespaces = tuple(
        Namespace.model_validate({**ns.model_dump(exclude_unset=True), **fields})
        if ns.name == "shop"
        else ns
        for ns in spec.namespaces
    )
    return spec.model_copy(update={"namespaces": namespaces})


def _with_policy(spec: MeshSpec, **fields: Any) -> MeshSpec:
    return spec.model_copy(update={"policy": spec.policy.model_copy(update=fields)})


MISTAKES: dict[str, tuple[MeshSpec, str]] = {
    "a waypoint on a sidecar namespace": (
        _with_namespace(SIDECARS, waypoint={"name": "waypoint"}),
        "namespaces[shop].waypoint",
    ),
    "injection on an ambient namespace": (
        _with_namespace(AMBIENT, injection="enabled"),
        "namespaces[shop].injection",
    ),
    "an install without ambient": (
        AMBIENT.model_copy(update={"install": IstioInstall(gateways=())}),
        "namespaces[shop].dataplane",
    ),
    "a waypoint named like a workload": (
        _with_namespace(AMBIENT, waypoint={"name": "api"}),
        "namespaces[shop].waypoint.name",
    ),
    "a Sidecar scope in an ambient namespace": (
        _with_policy(AMBIENT, sidecars=(SidecarScope(namespace="shop"),)),
        "policy.sidecars[0]",
    ),
    "a sidecar rate limit in an ambient namespace": (
        _with_policy(
            AMBIENT,
            rate_limits=(
                LocalRateLimit(
                    name="api-limit",
                    namespace="shop",
                    workload="api",
                    max_tokens=10,
                    tokens_per_fill=10,
                ),
            ),
        ),
        "policy.rate_limits[api-limit]",
    ),
    "a waypoint for a service in a sidecar namespace": (
        _mesh(Dataplane.SIDECAR, per_service=True),
        "apps[shop].workloads[web].waypoint",
    ),
    "a namespace-wide rule where only services have waypoints": (
        _with_policy(
            PER_SERVICE,
            authorization_policies=(
                AuthorizationPolicy(
                    name="shop-callers",
                    namespace="shop",
                    rules=(AuthorizationRule(sources=(RequestSource(namespaces=("shop",)),)),),
                ),
            ),
        ),
        "policy.authorization_policies[shop-callers].workload",
    ),
    "a mesh-wide policy beside a waypoint": (
        _with_policy(
            AMBIENT,
            authorization_policies=(
                *AMBIENT.policy.authorization_policies,
                AuthorizationPolicy(
                    name="mesh-callers",
                    namespace="istio-system",
                    rules=(AuthorizationRule(sources=(RequestSource(namespaces=("shop",)),)),),
                ),
            ),
        ),
        "policy.authorization_policies[mesh-callers]",
    ),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_an_ambient_mistake_is_reported_at_its_path(case: str) -> None:
    spec, path = MISTAKES[case]
    assert path in [p.path for p in validate(spec)]


def test_graph_says_where_each_namespace_is_enforced() -> None:
    assert enforced_by(SIDECARS)["shop"] == "sidecars"
    assert enforced_by(AMBIENT)["shop"] == "waypoint shop/waypoint (ambient)"
    assert enforced_by(_mesh(Dataplane.AMBIENT))["shop"].startswith("ztunnel")
    markdown = to_markdown(AMBIENT, who_can_call_whom(AMBIENT))
    assert "## shop\n\nEnforced by: waypoint shop/waypoint (ambient)" in markdown
    assert json.loads(to_json(AMBIENT, []))["enforced_by"]["shop"].startswith("waypoint")
