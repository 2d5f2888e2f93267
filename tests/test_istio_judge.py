"""Istio's own control plane judges meshstack's claims about traffic.

Every verdict of ``meshstack graph`` is compared with the one istiod's generated Envoy
configuration gives (``meshstack-judge``: Istio's fake discovery server and simulation,
the callee's RBAC filters evaluated by Envoy's semantics), for the shipped stacks and a
synthetic mesh; the seeds' scenarios are asked of Istio directly; and deliberate renderer
mutations must each make an Istio-judged check fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from builders import shop
from engine_stack import require_toolchain
from ingress_routing import gateway_api_answer, istio_answer
from istio_agreement import (
    egress_disagreements,
    entry_disagreements,
    graph_disagreements,
    permission_line_disagreements,
)
from meshstack.access.egress import who_can_reach_external
from meshstack.access.ingress import who_can_enter
from meshstack.istio_judge import (
    ask,
    backend_service,
    gateway_deployment,
    gateway_stand_ins,
    route_query,
)
from meshstack.render import K8sObject, render
from meshstack.route_names import proxy_routes
from meshstack.spec import (
    GatewayApi,
    MeshSpec,
    MtlsMode,
    PeerAuthentication,
)
from meshstack.spec.refs import ServiceKey
from meshstack.synthetic import synthetic_mesh
from test_gateway_api import ADMIN, AGREEING_ROUTES, ORDER_SENSITIVE, PROBES, REQUESTS, _edge

pytestmark = pytest.mark.cluster


@pytest.fixture(autouse=True)
def _judge() -> None:
    require_toolchain("judge")


def objects_of(spec: MeshSpec) -> list[K8sObject]:
    objects = render(spec)
    return objects + gateway_stand_ins(spec, objects)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_graph_verdicts_are_istios(stack: str, stack_specs: dict[str, MeshSpec]) -> None:
    spec = stack_specs[stack]
    wrong, judged = graph_disagreements(spec, objects_of(spec))
    assert judged > 0
    assert wrong == []


def test_graph_verdicts_are_istios_on_a_synthetic_mesh() -> None:
    spec = synthetic_mesh(50)
    wrong, judged = graph_disagreements(spec, objects_of(spec))
    assert judged >= 50 * 49
    assert wrong == []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_ingress_and_egress_verdicts_are_istios(
    stack: str, stack_specs: dict[str, MeshSpec]
) -> None:
    """graph's Ingress section (each route backend, for the proxy of its gateway, with and
    without end users' tokens) and Egress section (each workload against each external
    host: its sidecar's route, then the egress gateway's own policy) against Istio."""
    spec = stack_specs[stack]
    objects = objects_of(spec)
    wrong, judged = entry_disagreements(spec, objects)
    assert wrong == []
    assert judged == len(who_can_enter(spec)) > 0
    wrong, judged = egress_disagreements(spec, objects)
    assert wrong == []
    assert judged == len(who_can_reach_external(spec)) or not spec.policy.external_services


def test_gateway_api_entries_are_istios() -> None:
    """The Ingress section for a Gateway API gateway: its backends as the proxy istiod
    deploys for it (identity ``<name>-istio``) calls them."""
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    wrong, judged = entry_disagreements(spec, objects_of(spec))
    assert wrong == []
    assert judged == len(who_can_enter(spec)) > 0


def _without_policies(spec: MeshSpec, *names: str) -> MeshSpec:
    kept = tuple(p for p in spec.policy.authorization_policies if p.name not in names)
    assert len(kept) < len(spec.policy.authorization_policies), names
    return spec.model_copy(
        update={"policy": spec.policy.model_copy(update={"authorization_policies": kept})}
    )


def _with_default_deny(spec: MeshSpec, *namespaces: str) -> MeshSpec:
    deny = tuple(dict.fromkeys((*spec.policy.default_deny_namespaces, *namespaces)))
    return spec.model_copy(
        update={"policy": spec.policy.model_copy(update={"default_deny_namespaces": deny})}
    )


def _changes(stack_specs: dict[str, MeshSpec]) -> dict[str, tuple[MeshSpec, MeshSpec]]:
    staging, prod = stack_specs["staging"], stack_specs["prod"]
    return {
        "staging → prod": (staging, prod),
        "prod → staging": (prod, staging),
        "staging, an ALLOW policy dropped": (
            staging,
            _without_policies(staging, staging.policy.authorization_policies[0].name),
        ),
        "staging, default-deny on bookinfo": (staging, _with_default_deny(staging, "bookinfo")),
    }


@pytest.mark.parametrize(
    "change",
    [
        "staging → prod",
        "prod → staging",
        "staging, an ALLOW policy dropped",
        "staging, default-deny on bookinfo",
    ],
)
def test_the_diffs_permission_lines_are_the_change_in_istios_verdicts(
    change: str, stack_specs: dict[str, MeshSpec]
) -> None:
    """Every ``caller → callee`` line of ``meshstack diff`` (workload pairs and external
    hosts) is a pair whose Istio verdict changed, from and to what the line says, and every
    pair whose Istio verdict changed has its line."""
    base, head = _changes(stack_specs)[change]
    wrong, confirmed = permission_line_disagreements(base, head, objects_of(base), objects_of(head))
    assert wrong == []
    assert confirmed > 0


def test_ambient_callees_are_judged_by_ztunnel_and_their_waypoints(
    stack_specs: dict[str, MeshSpec],
) -> None:
    """dev's Online Boutique runs in ambient mode with waypoints: every pair with an
    ambient callee is decided from what istiod gives ztunnel (its WorkloadAuthorization)
    and, on the path through a waypoint, the waypoint's inbound chain — none is left out."""
    from meshstack.istio_judge import istio_verdicts

    spec = stack_specs["dev"]
    ambient = {ns.name for ns in spec.namespaces if ns.ambient}
    assert ambient
    verdicts = istio_verdicts(spec, objects_of(spec))
    into_ambient = {pair: v for pair, v in verdicts.items() if pair[1].partition("/")[0] in ambient}
    assert into_ambient
    undecided = {pair: v.decided for pair, v in into_ambient.items() if v.verdict is None}
    assert undecided == {}
    assert any("waypoint" in v.decided for v in into_ambient.values())
    assert any("ztunnel" in v.decided for v in into_ambient.values())


def test_ztunnel_enforces_strict_mtls_and_a_gateway_brings_its_identity() -> None:
    """An ambient namespace without a waypoint under STRICT mTLS: istiod gives ztunnel its
    converted strict policy (read from the cluster's objects), which refuses plaintext; the
    installed ingress gateway's proxy calls with its identity, so its routes still enter."""
    from meshstack.spec import Dataplane, IstioInstall

    spec = _edge(GatewayApi.ISTIO, *AGREEING_ROUTES)
    namespaces = tuple(
        ns.model_copy(update={"dataplane": Dataplane.AMBIENT}) if ns.name == "shop" else ns
        for ns in spec.namespaces
    )
    strict = (PeerAuthentication(namespace="shop", mode=MtlsMode.STRICT),)
    spec = spec.model_copy(
        update={
            "namespaces": namespaces,
            "install": IstioInstall(ambient=True),
            "policy": spec.policy.model_copy(update={"peer_authentications": strict}),
        }
    )
    objects = objects_of(spec)
    wrong, judged = entry_disagreements(spec, objects)
    assert wrong == [] and judged > 0
    (plain,) = ask(
        objects,
        spec,
        [
            {
                "kind": "access",
                "from": {"namespace": "istio-ingress", "name": "istio-ingressgateway"},
                "gateway": True,
                "to": {"namespace": "shop", "service": "web", "port": 8080},
                "plaintext": True,
            }
        ],
    )
    assert plain["allowed"] is False and "istio_converted_static_strict" in plain["decided"]


def test_mesh_wide_mtls_is_judged_the_same_however_it_is_spelled() -> None:
    """``namespace=None`` and ``namespace="istio-system"`` render the same object."""
    for namespace in (None, "istio-system"):
        spec = shop(
            peer_authentications=(PeerAuthentication(namespace=namespace, mode=MtlsMode.DISABLE),)
        )
        wrong, _ = graph_disagreements(spec, objects_of(spec))
        assert wrong == [], namespace


def _route(spec: MeshSpec, **query: Any) -> dict[str, Any]:
    (answer,) = ask(objects_of(spec), spec, [route_query(**query)])
    return answer


def _weights(answer: dict[str, Any]) -> dict[str, float]:
    backends = answer["backends"]
    total = sum(b["weight"] for b in backends)
    return {b["subset"]: round(100 * b["weight"] / total, 3) for b in backends}


def _access(
    spec: MeshSpec,
    caller: tuple[str, str],
    callee: tuple[str, str, int],
    *,
    path: str = "/",
    method: str = "GET",
    protocol: str = "http",
) -> dict[str, Any]:
    (answer,) = ask(
        objects_of(spec),
        spec,
        [
            {
                "kind": "access",
                "from": {"namespace": caller[0], "name": caller[1]},
                "to": {"namespace": callee[0], "service": callee[1], "port": callee[2]},
                "protocol": protocol,
                "path": path,
                "method": method,
            }
        ],
    )
    return answer


def _allowed(spec: MeshSpec, caller: tuple[str, str], callee: tuple[str, str], port: int) -> bool:
    """Whether ``caller`` may ask the cart API of ``callee`` (a gRPC call)."""
    answer = _access(
        spec,
        caller,
        (*callee, port),
        path="/hipstershop.CartService/GetCart",
        method="POST",
        protocol="http2",
    )
    assert answer["judged"], answer
    return bool(answer["allowed"])


PRODUCTPAGE = ("bookinfo", "productpage-v1")
REVIEWS = "reviews.bookinfo.svc.cluster.local"


def test_dev_reviews_jason_on_v2_mobile_on_v3_and_the_rest_split_50_50_with_a_mirror(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    common = {"source": PRODUCTPAGE, "gateway": False, "host": REVIEWS, "port": 9080}
    jason = _route(dev, **common, path="/reviews/0", headers={"end-user": "jason"})
    assert _weights(jason) == {"v2": 100}
    mobile = _route(dev, **common, headers={"user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148"})
    assert _weights(mobile) == {"v3": 100}
    rest = _route(dev, **common, path="/reviews/0")
    assert _weights(rest) == {"v1": 50, "v3": 50}
    assert [(m["cluster"].split("|")[2], m["percent"]) for m in rest["mirrors"]] == [("v2", 10)]


def _boutique_on_sidecars(dev: MeshSpec) -> MeshSpec:
    """dev's Online Boutique with sidecars instead of ambient: the same VirtualServices,
    applied by each caller's sidecar instead of the callee's waypoint."""
    from meshstack.spec import Dataplane

    namespaces = tuple(
        ns.model_copy(update={"dataplane": Dataplane.SIDECAR, "waypoint": None})
        if ns.name == "hipster-shop"
        else ns
        for ns in dev.namespaces
    )
    apps = tuple(
        app.model_copy(
            update={
                "workloads": tuple(w.model_copy(update={"waypoint": None}) for w in app.workloads)
            }
        )
        for app in dev.apps
    )
    policy = dev.policy.model_copy(update={"authorization_policies": ()})
    return dev.model_copy(update={"namespaces": namespaces, "apps": apps, "policy": policy})


@pytest.mark.parametrize("dataplane", ["ambient", "sidecars"])
def test_dev_fault_drills_delay_productcatalog_and_abort_cartservice(
    dataplane: str, stack_specs: dict[str, MeshSpec]
) -> None:
    """Where dev runs them, the shop in ambient mode: frontend's ztunnel hands each call to
    the callee's waypoint, whose routes (as istiod built them for the waypoint) carry the
    faults, cartservice's own waypoint its abort. With the shop on sidecars, frontend's
    sidecar carries them."""
    spec = stack_specs["dev"]
    if dataplane == "sidecars":
        spec = _boutique_on_sidecars(spec)
    frontend = ("hipster-shop", "frontend-v1")

    def at(service: str, port: int, path: str) -> dict[str, Any]:
        return _route(
            spec,
            source=frontend,
            gateway=False,
            host=f"{service}.hipster-shop.svc.cluster.local",
            port=port,
            protocol="http2",
            path=path,
        )

    catalog = at("productcatalogservice", 3550, "/hipstershop.ProductCatalogService/ListProducts")
    assert catalog["fault"] == {"delayMs": 5000, "delayPercent": 10}
    cart = at("cartservice", 7070, "/hipstershop.CartService/GetCart")
    assert cart["fault"] == {"abortStatus": 500, "abortPercent": 5}
    if dataplane == "ambient":
        assert catalog["listener"] == "waypoint hipster-shop/waypoint"
        assert cart["listener"] == "waypoint hipster-shop/cart-waypoint"


def test_dev_cartservice_rule_on_its_own_waypoint(stack_specs: dict[str, MeshSpec]) -> None:
    """dev's request-level rule for cartservice (shop callers, CartService paths only) is
    enforced by cartservice's own waypoint for ambient callers — and bypassed by sidecars."""
    dev = stack_specs["dev"]
    cart = ("hipster-shop", "cartservice", 7070)
    grpc = {"protocol": "http2", "method": "POST"}
    allowed = _access(
        dev, ("hipster-shop", "frontend-v1"), cart, path="/hipstershop.CartService/GetCart", **grpc
    )
    assert (
        allowed["allowed"] is True and "waypoint hipster-shop/cart-waypoint" in allowed["decided"]
    )
    other_path = _access(dev, ("hipster-shop", "frontend-v1"), cart, path="/admin", **grpc)
    assert other_path["allowed"] is False and "cart-waypoint" in other_path["decided"]
    stranger = _access(
        dev, ("hipster-shop", "adservice-v1"), cart, path="/hipstershop.CartService/GetCart", **grpc
    )
    assert stranger["allowed"] is False
    sidecar = _access(
        dev, ("bookinfo", "productpage-v1"), cart, path="/hipstershop.CartService/GetCart", **grpc
    )
    assert sidecar["allowed"] is True and "bypasses waypoint" in sidecar["decided"]


def test_staging_virtual_machines_behind_their_policy(stack_specs: dict[str, MeshSpec]) -> None:
    """staging's mysqldb runs on two virtual machines (WorkloadEntries); Istio builds their
    proxies' inbound policy: ratings may call them, details may not."""
    staging = stack_specs["staging"]
    mysqldb = ("bookinfo", "mysqldb", 3306)
    assert _access(staging, ("bookinfo", "ratings-v1"), mysqldb, protocol="tcp")["allowed"] is True
    assert _access(staging, ("bookinfo", "details-v1"), mysqldb, protocol="tcp")["allowed"] is False


def test_staging_canaries_and_cartservice_only_from_frontend(
    stack_specs: dict[str, MeshSpec],
) -> None:
    staging = stack_specs["staging"]
    reviews = _route(staging, source=PRODUCTPAGE, gateway=False, host=REVIEWS, port=9080)
    assert _weights(reviews) == {"v1": 90, "v3": 10}
    assert reviews["retry"]["attempts"] == 2 and reviews["retry"]["perTryTimeoutMs"] == 2000
    checkout = ("hipster-shop", "checkoutservice-v1")
    frontend = "frontend.hipster-shop.svc.cluster.local"
    canary = _route(
        staging, source=checkout, gateway=False, host=frontend, port=80, headers={"canary": "true"}
    )
    assert _weights(canary) == {"v2": 100}
    assert _weights(_route(staging, source=checkout, gateway=False, host=frontend, port=80)) == {
        "v1": 100
    }
    cart = ("hipster-shop", "cartservice")
    assert _allowed(staging, ("hipster-shop", "frontend-v1"), cart, 7070)
    assert not _allowed(staging, checkout, cart, 7070)


def test_prod_productcatalog_resilience_https_redirect_and_controlled_egress(
    stack_specs: dict[str, MeshSpec],
) -> None:
    prod = stack_specs["prod"]
    catalog = _route(
        prod,
        source=("hipster-shop", "frontend-v1"),
        gateway=False,
        host="productcatalogservice.hipster-shop.svc.cluster.local",
        port=3550,
        protocol="http2",
    )
    assert catalog["retry"] == {
        "attempts": 3,
        "retryOn": "5xx,reset,connect-failure",
        "perTryTimeoutMs": 2000,
    }
    assert catalog["timeoutMs"] == 10000
    (backend,) = catalog["backends"]
    assert backend["policy"]["outlierDetection"] and backend["policy"]["maxConnections"] < 2**32 - 1
    ingress = ("istio-ingress", "istio-ingressgateway")
    plain = _route(prod, source=ingress, gateway=True, host="bookinfo.meshstack.test", port=80)
    assert plain["outcome"] == "redirect" and plain["redirect"]["scheme"] == "https"
    # paymentservice's request leaves through the egress gateway, over mTLS ...
    payments = "payments.meshstack.test"
    out = _route(
        prod, source=("hipster-shop", "paymentservice-v1"), gateway=False, host=payments, port=80
    )
    (hop,) = out["backends"]
    assert hop["host"] == "istio-egressgateway.istio-egress.svc.cluster.local"
    assert hop["policy"]["tls"] == "ISTIO_MUTUAL"

    # ... where only paymentservice's identity gets through, and TLS starts to the API.
    def at_gateway(account: str) -> dict[str, Any]:
        return _route(
            prod,
            source=("istio-egress", "istio-egressgateway"),
            gateway=True,
            host=payments,
            port=hop["port"],
            principal=f"spiffe://cluster.local/ns/hipster-shop/sa/{account}",
        )

    through = at_gateway("paymentservice")
    assert through["allowed"] is True
    (api,) = through["backends"]
    assert api["host"] == payments and api["port"] == 443 and api["policy"]["tls"] == "SIMPLE"
    assert api["policy"]["sni"] == payments
    assert at_gateway("frontend")["allowed"] is False


def _prod_bookinfo_over_https(path: str) -> dict[str, Any]:
    """A request for prod's Bookinfo host, as its ingress gateway receives it."""
    return route_query(
        source=("istio-ingress", "istio-ingressgateway"),
        gateway=True,
        host="bookinfo.meshstack.test",
        port=443,
        path=path,
        tls=True,
    )


def _productpage_to_reviews(spec: MeshSpec) -> dict[str, Any]:
    return _route(spec, source=PRODUCTPAGE, gateway=False, host=REVIEWS, port=9080)


def test_prod_ingress_requires_a_token_except_on_its_open_paths(
    stack_specs: dict[str, MeshSpec],
) -> None:
    prod = stack_specs["prod"]

    def at_ingress(path: str, jwt: dict[str, Any] | None = None) -> bool:
        query = _prod_bookinfo_over_https(path)
        if jwt is not None:
            query["jwt"] = jwt
        (answer,) = ask(objects_of(prod), prod, [query])
        assert answer["judged"], answer
        return bool(answer["allowed"])

    assert not at_ingress("/productpage")
    assert at_ingress("/healthz")
    assert at_ingress("/productpage", {"iss": "https://auth.meshstack.test", "sub": "jason"})


# ---------------------------------------------------------------- mutation proof
#
# Each mutation is a renderer bug, applied to the rendered objects; each must make a check
# judged by Istio fail, while the same check passes on what the renderer really writes.

Objects = list[K8sObject]


def _answers(
    spec: MeshSpec, objects: Objects, queries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return ask(objects, spec, queries)


def check_reviews_routes(spec: MeshSpec, objects: Objects) -> list[str]:
    common = {"source": PRODUCTPAGE, "gateway": False, "host": REVIEWS, "port": 9080}
    jason, rest = _answers(
        spec,
        objects,
        [route_query(**common, headers={"end-user": "jason"}), route_query(**common)],
    )
    found = []
    if _weights(jason) != {"v2": 100}:
        found.append(f"jason: {_weights(jason)}")
    if _weights(rest) != {"v1": 50, "v3": 50}:
        found.append(f"others: {_weights(rest)}")
    return found


def check_canary_split(spec: MeshSpec, objects: Objects) -> list[str]:
    (answer,) = _answers(
        spec, objects, [route_query(source=PRODUCTPAGE, gateway=False, host=REVIEWS, port=9080)]
    )
    weights = _weights(answer)
    return [] if weights == {"v1": 90, "v3": 10} else [f"reviews: {weights}"]


def check_graph(spec: MeshSpec, objects: Objects) -> list[str]:
    return graph_disagreements(spec, objects)[0]


def check_plaintext_refused(spec: MeshSpec, objects: Objects) -> list[str]:
    """Under STRICT mTLS a plaintext caller reaches no sidecar."""
    queries = [
        {
            "kind": "access",
            "from": {"namespace": "bookinfo", "name": "productpage-v1"},
            "to": {"namespace": ns, "service": svc, "port": port},
            "plaintext": True,
        }
        for ns, svc, port in (("bookinfo", "reviews", 9080), ("bookinfo", "ratings", 9080))
    ]
    answers = _answers(spec, objects, queries)
    return [
        f"plaintext accepted by {q['to']}"
        for q, a in zip(queries, answers, strict=True)
        if a["allowed"]
    ]


def check_ingress_token(spec: MeshSpec, objects: Objects) -> list[str]:
    query = route_query(
        source=("istio-ingress", "istio-ingressgateway"),
        gateway=True,
        host="bookinfo.meshstack.test",
        port=443,
        path="/productpage",
        tls=True,
    )
    (answer,) = _answers(spec, objects, [query])
    return ["a request without a token got through"] if answer["allowed"] else []


def _edit(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def drop_header_match(objects: Objects) -> None:
    for route in _edit(objects, "VirtualService", "reviews")["spec"]["http"]:
        for match in route.get("match", []):
            match.pop("headers", None)


def reverse_route_rules(objects: Objects) -> None:
    spec = _edit(objects, "VirtualService", "reviews")["spec"]
    spec["http"].reverse()


def swap_subset_names(objects: Objects) -> None:
    for route in _edit(objects, "VirtualService", "reviews")["spec"]["http"]:
        for dest in route.get("route", []):
            subset = dest["destination"].get("subset")
            dest["destination"]["subset"] = {"v1": "v3", "v3": "v1"}.get(subset, subset)


def principals_without_trust_domain(objects: Objects) -> None:
    for o in objects:
        if o["kind"] != "AuthorizationPolicy":
            continue
        for rule in o["spec"].get("rules", []):
            for source in rule.get("from", []):
                principals = source["source"].get("principals")
                if principals:
                    source["source"]["principals"] = [p.split("/", 1)[1] for p in principals]


def drop_mesh_wide_peer_authentication(objects: Objects) -> None:
    objects[:] = [
        o
        for o in objects
        if not (o["kind"] == "PeerAuthentication" and o["metadata"]["namespace"] == "istio-system")
    ]


def deny_into_allow(objects: Objects) -> None:
    _edit(objects, "AuthorizationPolicy", "ingress-jwt-require-token")["spec"]["action"] = "ALLOW"


MUTATIONS = {
    "drop a header match": ("dev", drop_header_match, check_reviews_routes),
    "reverse two route rules": ("dev", reverse_route_rules, check_reviews_routes),
    "swap two subset names": ("staging", swap_subset_names, check_canary_split),
    "write principals without their trust domain": (
        "prod",
        principals_without_trust_domain,
        check_graph,
    ),
    "drop the mesh-wide PeerAuthentication": (
        "staging",
        drop_mesh_wide_peer_authentication,
        check_plaintext_refused,
    ),
    "turn a DENY into an ALLOW": ("prod", deny_into_allow, check_ingress_token),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_renderer_mutation_fails_a_check_istio_judges(
    mutation: str, stack_specs: dict[str, MeshSpec]
) -> None:
    import copy

    stack, mutate, check = MUTATIONS[mutation]
    spec = stack_specs[stack]
    objects = objects_of(spec)
    assert check(spec, objects) == []
    mutated = copy.deepcopy(objects)
    mutate(mutated)
    assert mutated != objects, "the mutation changed nothing"
    assert check(spec, mutated) != []


# ---------------------------------------------------------------- ingress_routing's answers

ISTIO_DEFAULT_RETRY_ON = (
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
)
"""The retry policy istiod puts on every route that declares none (2 attempts): what
``ingress_routing`` calls "no retries"."""


def _as_ingress_answer(answer: dict[str, Any], domain: str) -> Any:
    from ingress_routing import Answer

    if answer.get("outcome") == "redirect":
        return Answer(redirect=answer["redirect"]["scheme"])
    if answer.get("outcome") != "route":
        return Answer()

    def service(cluster: str, percent: float) -> tuple[str, str, int, float]:
        found = backend_service(cluster, domain)
        assert found is not None, cluster
        return found[0], found[1], found[2], round(percent, 3)

    total = sum(b["weight"] for b in answer["backends"])
    # A cluster the proxy was not given (istiod's "UnknownService" for a backend it may
    # not use) is no backend: Envoy answers that share with an error.
    known = [b for b in answer["backends"] if b.get("policy") is not None]
    if not known:
        return Answer()
    retry = answer.get("retry")
    mirrors = answer.get("mirrors") or []
    return Answer(
        backends=frozenset(service(b["cluster"], 100 * b["weight"] / total) for b in known),
        timeout_ms=answer.get("timeoutMs") or None,
        attempts=None
        if retry is None or (retry["retryOn"] == ISTIO_DEFAULT_RETRY_ON and retry["attempts"] == 2)
        else retry["attempts"],
        mirror=service(mirrors[0]["cluster"], mirrors[0]["percent"]) if mirrors else None,
    )


def _ingress_source(spec: MeshSpec) -> tuple[str, str]:
    """The proxy that serves the spec's first gateway."""
    found = gateway_deployment(spec, spec.policy.gateways[0])
    assert found is not None
    return found


def _istio_ingress_answers(spec: MeshSpec, requests: Sequence[Any]) -> list[Any]:
    """Istio's answer to each request at the spec's first gateway, as ingress_routing
    writes answers."""
    objects = objects_of(spec)
    queries = [
        route_query(
            source=_ingress_source(spec),
            gateway=True,
            host=r.host,
            port=r.port,
            path=r.path,
            method=r.method,
            headers=dict(r.headers),
            tls=r.port == 443,
        )
        for r in requests
    ]
    return [_as_ingress_answer(a, spec.cluster_domain) for a in ask(objects, spec, queries)]


@pytest.mark.parametrize("api", ["istio", "kubernetes"])
def test_ingress_routing_answers_are_istios(api: str) -> None:
    """Every request ``tests/ingress_routing.py`` answers for the agreement table gets the
    same answer from Istio — backends and weights, redirect, 404, timeout, retries,
    mirror — for Istio's Gateway and VirtualServices and for the Gateway API's Gateway and
    HTTPRoutes (istiod's Gateway API controller translating them, on the proxy it would
    deploy)."""

    spec = _edge(GatewayApi(api), *AGREEING_ROUTES)
    reader = istio_answer if spec.policy.gateways[0].api is GatewayApi.ISTIO else gateway_api_answer
    theirs = _istio_ingress_answers(spec, REQUESTS)
    ours = [reader(render(spec), r) for r in REQUESTS]
    assert [(str(r), a) for r, a in zip(REQUESTS, theirs, strict=True)] == [
        (str(r), a) for r, a in zip(REQUESTS, ours, strict=True)
    ]


def test_a_cross_namespace_gateway_api_backend_needs_its_reference_grant_in_istio_too() -> None:
    """Without the ReferenceGrant meshstack renders, istiod sends the admin route nowhere."""

    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    admin = route_query(
        source=_ingress_source(spec), gateway=True, host=ADMIN, port=443, path="/admin", tls=True
    )
    objects = objects_of(spec)
    granted = _as_ingress_answer(ask(objects, spec, [admin])[0], spec.cluster_domain)
    without = [o for o in objects if o["kind"] != "ReferenceGrant"]
    refused = _as_ingress_answer(ask(without, spec, [admin])[0], spec.cluster_domain)
    assert granted.backends == {("shop", "web", 8080, 100.0)}
    assert refused.backends == frozenset()


@pytest.mark.parametrize("case", sorted(ORDER_SENSITIVE))
def test_routes_validation_refuses_for_the_gateway_api_do_route_differently_in_istio(
    case: str,
) -> None:
    """Validation refuses routes whose order the Gateway API's precedence would not keep.
    For such a table Istio itself sends some probe elsewhere when the same routes are an
    HTTPRoute rather than a VirtualService (the rule guards a real difference), and for
    each API Istio's answers are ingress_routing's."""

    routes = ORDER_SENSITIVE[case]
    as_istio, as_gateway_api = (
        _edge(GatewayApi.ISTIO, *routes),
        _edge(GatewayApi.KUBERNETES, *routes),
    )
    by_istio_api = _istio_ingress_answers(as_istio, PROBES)
    by_gateway_api = _istio_ingress_answers(as_gateway_api, PROBES)
    assert by_istio_api != by_gateway_api
    assert by_istio_api == [istio_answer(render(as_istio), r) for r in PROBES]
    assert by_gateway_api == [gateway_api_answer(render(as_gateway_api), r) for r in PROBES]


def test_the_judge_builds_against_the_pinned_istio_module() -> None:
    """One Istio for istioctl, the charts and the judge: go.mod's require is the pin."""
    from engine import pins
    from meshstack.istio_judge import SOURCES

    assert (
        f"require istio.io/istio {pins()['ISTIO_MODULE_VERSION']}"
        in (SOURCES / "go.mod").read_text()
    )


def test_locality_failover_takes_effect_only_beside_outlier_detection() -> None:
    """Istio's cluster builder turns on Envoy's locality-weighted balancing for a
    distribution, and for failover only when outlier detection can eject the local
    endpoints: the rule our validation enforces (``test_locality.py``) is Istio's."""
    from test_locality import DISTRIBUTE, FAILOVER, api_policy

    def by_locality(spec: MeshSpec) -> bool:
        answer = _route(
            spec,
            source=("shop", "web-v1"),
            gateway=False,
            host="api.shop.svc.cluster.local",
            port=9090,
        )
        (backend,) = answer["backends"]
        return bool(backend["policy"]["localityWeighted"])

    assert by_locality(api_policy(FAILOVER))
    assert not by_locality(api_policy(FAILOVER, outlier=None))
    assert by_locality(api_policy(DISTRIBUTE, outlier=None))
    assert not by_locality(shop())


def test_istio_names_the_routes_and_labels_the_metrics_an_slo_kept_per_route_reads(
    stack_specs: dict[str, MeshSpec],
) -> None:
    """prod keeps its availability SLOs per route: the route names meshstack reads
    (``route_names``) are the ones istiod gives the gateway's routes, and the Telemetry
    it renders makes Istio's stats filter add ``route_name`` (Envoy's ``xds.route_name``)
    to both metrics the SLOs read, at the calling proxies; a stack whose SLOs name no
    route gets no such label."""
    prod = stack_specs["prod"]
    ours = {r.name for r in proxy_routes(prod)[ServiceKey("bookinfo", "productpage")]}
    paths = {"/productpage": "productpage", "/static/x.css": "static", "/logout": "sign-in"}
    paths["/api/v1/products/1"] = "api"
    queries = [_prod_bookinfo_over_https(path) for path in paths]
    answers = ask(objects_of(prod), prod, queries)
    route_label = {"route_name": "xds.route_name"}
    for (path, name), answer in zip(paths.items(), answers, strict=True):
        assert answer["route"] == name and name in ours, (path, answer)
        assert answer["stats"]["requests_total"] == route_label, answer["stats"]
        assert answer["stats"]["request_duration_milliseconds"] == route_label
    sidecar = _productpage_to_reviews(prod)
    assert sidecar["stats"]["requests_total"] == route_label
    staging = stack_specs["staging"]
    assert not any(s.names_routes for s in staging.policy.slos)
    plain = _productpage_to_reviews(staging)
    assert plain["statsFilter"] and "route_name" not in str(plain.get("stats"))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_proxy_reports_istios_metrics(stack: str, stack_specs: dict[str, MeshSpec]) -> None:
    """Istio's chart names Prometheus the default metrics provider only while the values
    name no default provider; meshstack names the tracing one, so it must name Prometheus
    too, or no proxy has a stats filter and every SLO, canary check and dashboard reads
    nothing (the bug this guards: all three stacks shipped without metrics)."""
    spec = stack_specs[stack]
    answer = _productpage_to_reviews(spec)
    assert answer["statsFilter"], answer
