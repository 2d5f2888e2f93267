"""Ingress through the Kubernetes Gateway API (issue 15 §1).

The judge is behaviour: the same typed gateway and routes are rendered once for Istio's
API and once for the Gateway API, and every request of a table is followed through each
set of objects by an independent reader of how Istio serves them
(``tests/ingress_routing.py``). They must agree on where each request goes, with what
timeout, retries and mirror. Where the two APIs would disagree (the Gateway API's
precedence is not the VirtualService's order), validation must refuse, and the readers
must indeed disagree on some request: the rule guards a real difference, not a taste.
The objects are also checked against the Gateway API's own CRD schemas
(``test_istio_schemas``), applied to a real API server with the dev stack
(``test_engine_cluster``) and analyzed by istioctl (``test_engine_render``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from builders import shop
from ingress_routing import Answer, Request, gateway_api_answer, istio_answer
from meshstack.access.authorization import Verdict
from meshstack.access.graph import who_can_call_whom
from meshstack.access.ingress import to_markdown as ingress_markdown
from meshstack.access.ingress import who_can_enter
from meshstack.chart_files import gateway_api_source_problems
from meshstack.gateway_api.translation import gateway_api_duration
from meshstack.render import render
from meshstack.spec import (
    AuthorizationPolicy,
    AuthorizationRule,
    Canary,
    Destination,
    FaultInjection,
    Gateway,
    GatewayApi,
    GatewayApiCrdFiles,
    GatewayApiCrds,
    GatewayApiRelease,
    GatewayServer,
    HttpMatch,
    HttpRoute,
    IstioInstall,
    JwtRule,
    MeshSpec,
    Mirror,
    RequestSource,
    RetryPolicy,
    ServerProtocol,
    StringMatch,
    TlsMode,
    VirtualService,
)
from meshstack.spec.traffic import AbortFault, DelayFault
from meshstack.validation import validate

HOST = "shop.example.test"
ADMIN = "admin.example.test"
CONNECTION_ERRORS = ("connect-failure", "refused-stream", "unavailable", "cancelled")


def _prefix(value: str) -> HttpMatch:
    return HttpMatch(uri=StringMatch(prefix=value))


def _edge(api: GatewayApi, *routes: HttpRoute, admin_host: str = ADMIN) -> MeshSpec:
    """Gateway ``edge`` in ``istio-ingress`` for the shop's and the admin's hosts (HTTP →
    HTTPS redirect, HTTPS terminated), a VirtualService in ``shop`` with ``routes`` and
    one in ``istio-ingress`` that sends ``admin_host``'s ``/admin`` to ``shop``'s web
    across namespaces."""
    hosts = tuple(dict.fromkeys((HOST, admin_host)))
    servers = (
        GatewayServer(port=80, hosts=hosts, https_redirect=True),
        GatewayServer(port=443, protocol=ServerProtocol.HTTPS, hosts=hosts, tls_secret="cert"),
    )
    gateway = Gateway(name="edge", namespace="istio-ingress", servers=servers, api=api)
    shop_routes = VirtualService(
        name="shop-ingress",
        namespace="shop",
        hosts=(HOST,),
        gateways=("istio-ingress/edge",),
        http=routes,
    )
    admin = VirtualService(
        name="admin",
        namespace="istio-ingress",
        hosts=(admin_host,),
        gateways=("edge",),
        http=(
            HttpRoute(
                name="admin",
                match=(HttpMatch(uri=StringMatch(exact="/admin")),),
                destinations=(Destination(service="web.shop"),),
            ),
        ),
    )
    return shop(gateways=(gateway,), virtual_services=(shop_routes, admin))


AGREEING_ROUTES = (
    HttpRoute(
        name="beta-api",
        match=(
            HttpMatch(
                uri=StringMatch(prefix="/api"),
                method=StringMatch(exact="GET"),
                headers={"x-beta": StringMatch(exact="1")},
            ),
        ),
        destinations=(Destination(service="api", port=9090),),
        timeout="1.5s",
    ),
    HttpRoute(
        name="api",
        match=(HttpMatch(uri=StringMatch(prefix="/api"), method=StringMatch(exact="GET")),),
        destinations=(
            Destination(service="api", weight=90),
            Destination(service="web", weight=10),
        ),
        retries=RetryPolicy(attempts=3, retry_on=CONNECTION_ERRORS),
    ),
    HttpRoute(
        name="login",
        match=(HttpMatch(uri=StringMatch(exact="/login")),),
        destinations=(Destination(service="web"),),
        timeout="250ms",
    ),
    HttpRoute(
        name="mobile",
        match=(HttpMatch(uri=StringMatch(prefix="/m"), user_agent=StringMatch(prefix="Mobi")),),
        destinations=(Destination(service="web"),),
    ),
    HttpRoute(
        name="static",
        match=(
            _prefix("/static"),
            HttpMatch(
                uri=_prefix("/assets").uri, headers={"accept": StringMatch(regex="text/css.*")}
            ),
        ),
        destinations=(Destination(service="web"),),
    ),
    HttpRoute(
        name="rest",
        destinations=(Destination(service="web"),),
        mirror=Mirror(service="api", percentage=12.5),
    ),
)

REQUESTS = (
    Request(HOST, "/api/items", port=443, headers=(("x-beta", "1"),)),
    Request(HOST, "/api/items", port=443, method="POST", headers=(("x-beta", "1"),)),
    Request(HOST, "/api/items", port=443),
    Request(HOST, "/api", port=443, method="DELETE"),
    Request(HOST, "/apiary", port=443),
    Request(HOST, "/login", port=443),
    Request(HOST, "/login/x", port=443),
    Request(HOST, "/m/home", port=443, headers=(("user-agent", "Mobile Safari"),)),
    Request(HOST, "/m/home", port=443, headers=(("user-agent", "curl"),)),
    Request(HOST, "/static/app.js", port=443),
    Request(HOST, "/assets/site.css", port=443, headers=(("accept", "text/css,*/*"),)),
    Request(HOST, "/assets/site.js", port=443, headers=(("accept", "*/*"),)),
    Request(HOST, "/admin", port=443),
    Request(ADMIN, "/admin", port=443),
    Request(ADMIN, "/", port=443),
    Request(HOST, "/", port=443),
    Request(HOST, "/anything", port=80),
    Request("other.example.test", "/", port=443),
)


def _answers(spec: MeshSpec, read: Callable[[Any, Request], Answer]) -> list[Answer]:
    objects = render(spec)
    return [read(objects, r) for r in REQUESTS]


MID_SEGMENT = Request(HOST, "/apiary", port=443)
"""A path that continues the ``/api`` prefix inside a segment: the one kind of request the
two APIs answer differently (Istio's control plane says so: test_istio_judge)."""


def test_both_apis_send_every_request_to_the_same_place_but_a_prefix_ends_a_segment() -> None:
    """The same routes send every request of the table to the same place through either
    API, except one: a VirtualService ``prefix`` is a string prefix (``/api`` takes
    ``/apiary``), an HTTPRoute ``PathPrefix`` matches whole segments (Istio serves it as
    Envoy's ``path_separated_prefix``), so ``/apiary`` falls through to the catch-all."""
    istio = _edge(GatewayApi.ISTIO, *AGREEING_ROUTES)
    kubernetes = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    assert validate(istio) == []
    assert validate(kubernetes) == []
    by_istio = _answers(istio, istio_answer)
    by_gateway_api = _answers(kubernetes, gateway_api_answer)
    at = REQUESTS.index(MID_SEGMENT)
    assert by_gateway_api[:at] + by_gateway_api[at + 1 :] == by_istio[:at] + by_istio[at + 1 :]
    catch_all = _answers(istio, istio_answer)[REQUESTS.index(Request(HOST, "/", port=443))]
    assert by_istio[at] != catch_all and by_gateway_api[at] == catch_all
    # The table exercises what it claims: a split, a redirect, a 404, a cross-namespace
    # backend, a mirror, a timeout and retries.
    assert Answer(redirect="https") in by_istio
    assert Answer() in by_istio
    assert any(len(a.backends) == 2 for a in by_istio)
    assert any(a.mirror and a.timeout_ms is None for a in by_istio)
    assert any(a.timeout_ms == 1500 for a in by_istio) and any(a.attempts for a in by_istio)


def test_a_gateway_api_gateway_renders_no_istio_gateway_or_virtual_service() -> None:
    objects = render(_edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES))
    kinds = {(o["apiVersion"].split("/")[0], o["kind"]) for o in objects}
    assert ("networking.istio.io", "Gateway") not in kinds
    assert not [o for o in objects if o["kind"] == "VirtualService"]
    (gateway,) = [o for o in objects if o["kind"] == "Gateway"]
    assert gateway["spec"]["gatewayClassName"] == "istio"


def test_the_cross_namespace_route_is_admitted_and_granted_exactly() -> None:
    """The shop's route reaches the gateway in istio-ingress because its listeners admit
    namespace shop by name; the admin route reaches shop's web because a ReferenceGrant
    in shop lets istio-ingress's HTTPRoutes name that one Service — and nothing else."""
    objects = render(_edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES))
    (gateway,) = [o for o in objects if o["kind"] == "Gateway"]
    for listener in gateway["spec"]["listeners"]:
        selector = listener["allowedRoutes"]["namespaces"]["selector"]
        assert selector["matchExpressions"][0]["values"] == ["istio-ingress", "shop"]
    (grant,) = [o for o in objects if o["kind"] == "ReferenceGrant"]
    assert grant["metadata"]["namespace"] == "shop"
    assert grant["spec"]["from"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "istio-ingress"}
    ]
    assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": "web"}]
    without_grant = [o for o in objects if o["kind"] != "ReferenceGrant"]
    admin = Request(ADMIN, "/admin", port=443)
    assert gateway_api_answer(without_grant, admin).backends == frozenset()
    assert gateway_api_answer(objects, admin).backends == {("shop", "web", 8080, 100.0)}


ORDER_SENSITIVE = {
    "a catch-all prefix above a regex": (
        HttpRoute(
            name="assets",
            match=(HttpMatch(uri=StringMatch(regex="/assets/.*")),),
            destinations=(Destination(service="api"),),
        ),
        HttpRoute(name="rest", destinations=(Destination(service="web"),)),
    ),
    "a header route above a path route": (
        HttpRoute(
            name="beta",
            match=(HttpMatch(headers={"x-beta": StringMatch(exact="1")}),),
            destinations=(Destination(service="api"),),
        ),
        HttpRoute(
            name="login",
            match=(HttpMatch(uri=StringMatch(prefix="/login")),),
            destinations=(Destination(service="web"),),
        ),
    ),
    "a short prefix above a method route": (
        HttpRoute(
            name="all-api",
            match=(_prefix("/api"),),
            destinations=(Destination(service="api"),),
        ),
        HttpRoute(
            name="api-posts",
            match=(HttpMatch(uri=StringMatch(prefix="/api"), method=StringMatch(exact="POST")),),
            destinations=(Destination(service="web"),),
        ),
    ),
}

PROBES = tuple(
    Request(HOST, path, port=443, method=method, headers=headers)
    for path in ("/", "/login", "/assets/a", "/api/x")
    for method in ("GET", "POST")
    for headers in ((), (("x-beta", "1"),))
)


@pytest.mark.parametrize("case", sorted(ORDER_SENSITIVE))
def test_routes_whose_order_the_gateway_api_would_change_are_refused(case: str) -> None:
    routes = ORDER_SENSITIVE[case]
    spec = _edge(GatewayApi.KUBERNETES, *routes)
    problems = [p for p in validate(spec) if "ranks matches by specificity" in p.message]
    assert [p.path for p in problems] == [
        "policy.virtual_services[shop-ingress].http[1]"
        if not routes[1].match
        else "policy.virtual_services[shop-ingress].http[1].match[0]"
    ]
    # The refusal guards a real difference: the readers disagree on some request.
    as_istio = render(_edge(GatewayApi.ISTIO, *routes))
    as_gateway_api = render(spec)
    assert any(
        istio_answer(as_istio, r) != gateway_api_answer(as_gateway_api, r) for r in PROBES
    ), case
    # Written the other way round, both APIs agree and validation accepts.
    reordered = _edge(GatewayApi.KUBERNETES, *reversed(routes))
    if all(r.match for r in routes):
        assert validate(reordered) == []
        agreed = render(_edge(GatewayApi.ISTIO, *reversed(routes))), render(reordered)
        assert [istio_answer(agreed[0], r) for r in PROBES] == [
            gateway_api_answer(agreed[1], r) for r in PROBES
        ]


def _route_with(**fields: Any) -> HttpRoute:
    return HttpRoute(**{"name": "r", "destinations": (Destination(service="api"),), **fields})


def _gateway_with(**fields: Any) -> Callable[[MeshSpec], MeshSpec]:
    def change(spec: MeshSpec) -> MeshSpec:
        (gateway,) = spec.policy.gateways
        new = Gateway.model_validate({**gateway.model_dump(exclude_unset=True), **fields})
        return spec.model_copy(
            update={"policy": spec.policy.model_copy(update={"gateways": (new,)})}
        )

    return change


ROUTE = "policy.virtual_services[shop-ingress].http[0]"
INEXPRESSIBLE: dict[str, tuple[HttpRoute | Callable[[MeshSpec], MeshSpec], str]] = {
    "fault injection": (
        _route_with(fault=FaultInjection(delay=DelayFault(fixed_delay="1s", percentage=5))),
        f"{ROUTE}.fault",
    ),
    "an abort": (
        _route_with(fault=FaultInjection(abort=AbortFault(http_status=503, percentage=5))),
        f"{ROUTE}.fault",
    ),
    "a subset": (
        _route_with(destinations=(Destination(service="api", subset="v2"),)),
        f"{ROUTE}.destinations[0].subset",
    ),
    "retries on 5xx": (_route_with(retries=RetryPolicy(attempts=2)), f"{ROUTE}.retries.retry_on"),
    "a per-try timeout": (
        _route_with(
            retries=RetryPolicy(attempts=2, retry_on=CONNECTION_ERRORS, per_try_timeout="1s")
        ),
        f"{ROUTE}.retries.per_try_timeout",
    ),
    "a method prefix": (
        _route_with(match=(HttpMatch(method=StringMatch(prefix="P")),)),
        f"{ROUTE}.match[0].method",
    ),
    "a prefix with a trailing slash": (
        _route_with(match=(_prefix("/api/"),)),
        f"{ROUTE}.match[0].uri.prefix",
    ),
    "a relative path": (
        _route_with(match=(HttpMatch(uri=StringMatch(exact="login")),)),
        f"{ROUTE}.match[0].uri.exact",
    ),
    "a sub-millisecond timeout": (_route_with(timeout="1500us"), f"{ROUTE}.timeout"),
    "an upper-case rule name": (_route_with(name="Api"), f"{ROUTE}.name"),
    "a mirror to a subset": (
        _route_with(mirror=Mirror(service="api", subset="v1")),
        f"{ROUTE}.mirror.subset",
    ),
    "pass-through TLS": (
        _gateway_with(
            servers=(
                GatewayServer(
                    port=443,
                    protocol=ServerProtocol.TLS,
                    hosts=(HOST,),
                    tls_mode=TlsMode.PASSTHROUGH,
                ),
            )
        ),
        "policy.gateways[edge].servers[0].protocol",
    ),
    "mutual TLS": (
        _gateway_with(
            servers=(
                GatewayServer(
                    port=443,
                    protocol=ServerProtocol.HTTPS,
                    hosts=(HOST,),
                    tls_mode=TlsMode.MUTUAL,
                    tls_secret="shop-cert",
                ),
            )
        ),
        "policy.gateways[edge].servers[0].tls_mode",
    ),
    "a namespace-qualified host": (
        _gateway_with(servers=(GatewayServer(port=80, hosts=(f"shop/{HOST}",)),)),
        "policy.gateways[edge].servers[0].hosts[0]",
    ),
    "an installed gateway workload": (
        _gateway_with(workload="istio-ingressgateway"),
        "policy.gateways[edge].workload",
    ),
    # The three below are the API server's own limits (CEL and schema lengths): the
    # cluster test sends each to a real API server, which refuses it too.
    "two listeners with one port, protocol and hostname": (
        _gateway_with(
            servers=(
                GatewayServer(port=80, hosts=(HOST, ADMIN), https_redirect=True),
                GatewayServer(
                    port=443, protocol=ServerProtocol.HTTPS, hosts=(HOST, ADMIN), tls_secret="a"
                ),
                GatewayServer(
                    port=443, protocol=ServerProtocol.HTTPS, hosts=(HOST,), tls_secret="b"
                ),
            )
        ),
        "policy.gateways[edge].servers[2].hosts[0]",
    ),
    "a path longer than the schema allows": (
        _route_with(match=(HttpMatch(uri=StringMatch(prefix="/" + "a" * 1024)),)),
        f"{ROUTE}.match[0].uri.prefix",
    ),
    "a header value longer than the schema allows": (
        _route_with(match=(HttpMatch(headers={"x-user": StringMatch(exact="a" * 4097)}),)),
        f"{ROUTE}.match[0].headers[x-user]",
    ),
}

REFUSED_BY_THE_API_SERVER = {
    "a relative path": "must be an absolute path",
    "two listeners with one port, protocol and hostname": "Combination of port, protocol and "
    "hostname must be unique",
    "a path longer than the schema allows": "may not be more than 1024 bytes",
    "a header value longer than the schema allows": "may not be more than 4096 bytes",
}
"""Cases of :data:`INEXPRESSIBLE` that the Gateway API's schema itself refuses, with what
the API server says: validation must refuse them before anything is sent."""


@pytest.mark.parametrize("case", sorted(INEXPRESSIBLE))
def test_what_httproute_cannot_express_is_refused_at_its_field(case: str) -> None:
    change, path = INEXPRESSIBLE[case]
    if isinstance(change, HttpRoute):
        spec = _edge(GatewayApi.KUBERNETES, change)
        accepted_by_istio = _edge(GatewayApi.ISTIO, change)
    else:
        spec = change(_edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES))
        accepted_by_istio = change(_edge(GatewayApi.ISTIO, *AGREEING_ROUTES))
    problems = validate(spec)
    assert path in [p.path for p in problems], problems
    # Only the Gateway API refuses it: the same spec on an Istio gateway has no problem there.
    assert path not in [p.path for p in validate(accepted_by_istio)]


def test_a_canary_through_a_gateway_api_gateway_is_refused() -> None:
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    canary = Canary(
        service="api", namespace="shop", weight=10, gateway="istio-ingress/edge", gateway_hosts=()
    )
    spec = spec.model_copy(
        update={"policy": spec.policy.model_copy(update={"canaries": (canary,)})}
    )
    assert "policy.canaries[api].gateway" in [p.path for p in validate(spec)]


def test_a_header_prefix_becomes_a_full_match_regex_that_means_the_same() -> None:
    objects = render(_edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES))
    (route,) = [o for o in objects if o["metadata"]["name"] == "shop-ingress"]
    (mobile,) = [r for r in route["spec"]["rules"] if r.get("name") == "mobile"]
    header = mobile["matches"][0]["headers"][0]
    assert header == {"type": "RegularExpression", "name": "user-agent", "value": "Mobi.*"}


def test_the_listener_of_an_https_redirect_carries_only_the_redirect() -> None:
    objects = render(_edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES))
    attached: dict[str, list[str]] = {}
    for o in objects:
        if o["kind"] == "HTTPRoute":
            for ref in o["spec"]["parentRefs"]:
                attached.setdefault(ref["sectionName"], []).append(o["metadata"]["name"])
    assert attached == {
        "http-80-0": ["edge-https-redirect"],
        "http-80-1": ["edge-https-redirect"],
        "https-443-0": ["shop-ingress"],
        "https-443-1": ["admin"],
    }


def test_a_local_crd_directory_must_hold_the_crds_the_objects_need(tmp_path: Any) -> None:
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES).model_copy(
        update={"gateway_api": GatewayApiCrds(source=GatewayApiCrdFiles(path=str(tmp_path)))}
    )
    (tmp_path / "gateway.networking.k8s.io_gateways.yaml").write_text("{}\n")
    problems = gateway_api_source_problems(spec)
    assert [p.path for p in problems] == ["gateway_api.source.path"] * 2
    assert "httproutes" in problems[0].message and "referencegrants" in problems[1].message
    # An Istio-only stack reads no Gateway API files at all.
    istio_only = _edge(GatewayApi.ISTIO, *AGREEING_ROUTES).model_copy(
        update={"gateway_api": spec.gateway_api}
    )
    assert gateway_api_source_problems(istio_only) == []


def test_a_local_crd_directory_of_another_release_is_refused() -> None:
    """The pinned module's CRDs say which release they are; a stack naming another version
    would report (and diff) a release the cluster never gets."""
    from engine import gateway_api_crds_dir

    local = GatewayApiCrdFiles(path=str(gateway_api_crds_dir()))
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    pinned = spec.model_copy(update={"gateway_api": GatewayApiCrds(source=local)})
    assert gateway_api_source_problems(pinned) == []
    older = spec.model_copy(update={"gateway_api": GatewayApiCrds(version="1.5.0", source=local)})
    [problem] = gateway_api_source_problems(older)
    assert problem.path == "gateway_api.version"
    assert f"Gateway API v{GatewayApiCrds().version}" in problem.message
    assert "not '1.5.0'" in problem.message


def test_a_gateway_api_version_written_as_its_tag_is_refused() -> None:
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES).model_copy(
        update={"gateway_api": GatewayApiCrds(version="v1.7.0")}
    )
    problems = [p for p in validate(spec) if p.path == "gateway_api.version"]
    assert len(problems) == 1 and "without the tag's 'v'" in problems[0].message


@pytest.mark.parametrize("api", list(GatewayApi))
def test_one_host_routed_by_two_virtual_services_on_one_gateway_is_refused(
    api: GatewayApi,
) -> None:
    """``edge`` and ``istio-ingress/edge`` are the same gateway: two VirtualServices for one
    host on it leave the order of their routes to Istio's merge (an Istio gateway) or to
    the Gateway API's precedence (an HTTPRoute), so one must own the host."""
    spec = _edge(api, *AGREEING_ROUTES, admin_host=HOST)
    admin = spec.policy.virtual_services[1]
    assert admin.gateways == ("edge",) and admin.hosts == (HOST,)
    paths = [p.path for p in validate(spec) if "already routed" in p.message]
    assert paths == ["policy.virtual_services[shop-ingress].hosts"] or paths == [
        "policy.virtual_services[admin].hosts"
    ]


def test_the_default_release_is_the_one_the_offline_crds_come_from() -> None:
    """The tests apply the pinned module's CRDs; users get the release of the same version."""
    from engine import gateway_api_crds_dir, pins

    crds = GatewayApiCrds()
    assert crds.version == pins()["GATEWAY_API_VERSION"]
    assert isinstance(crds.source, GatewayApiRelease)
    assert crds.source.manifest_url(crds.version).endswith(
        f"/v{crds.version}/standard-install.yaml"
    )
    bundle = (gateway_api_crds_dir() / "gateway.networking.k8s.io_httproutes.yaml").read_text()
    assert f"gateway.networking.k8s.io/bundle-version: v{crds.version}" in bundle


@pytest.fixture(scope="module")
def gateway_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real API server with the pinned Gateway API CRDs installed."""
    from cluster import start
    from engine import gateway_api_crds_dir
    from engine_stack import require_toolchain

    require_toolchain("etcd", "kube-apiserver")
    server = start(tmp_path_factory.mktemp("apiserver"))
    try:
        # Server-side: the HTTPRoute CRD is larger than a client-side apply's annotation.
        server.kubectl("apply", "--server-side", "-f", str(gateway_api_crds_dir()))
        server.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        yield server
    finally:
        server.stop()


def _server_dry_run(server: Any, spec: MeshSpec, workdir: Path) -> tuple[int, str]:
    """Create the spec's namespaces, then send its Gateway API objects as a dry run."""
    objects = [o for o in render(spec) if o["apiVersion"].startswith("gateway.networking.k8s.io")]
    workdir.mkdir()
    for name in sorted({o["metadata"]["namespace"] for o in objects}):
        server.kubectl("create", "namespace", name, check=False)
    (workdir / "objects.yaml").write_text(yaml.safe_dump_all(objects))
    done = server.kubectl(
        "apply", "--dry-run=server", "-f", str(workdir / "objects.yaml"), check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.cluster
def test_the_api_server_accepts_every_shape_and_refuses_what_we_refuse(
    gateway_api_server: Any, tmp_path: Path
) -> None:
    """Every shape the renderer writes — listeners admitting other namespaces, the
    redirect route, mirror fractions, retries, timeouts, ReferenceGrants — passes the
    Gateway API's own schemas and CEL rules; each shape of ``REFUSED_BY_THE_API_SERVER``
    (which validation refuses) the API server refuses as well, with its own words."""
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    kinds = {o["kind"] for o in render(spec) if "gateway.networking" in o["apiVersion"]}
    assert kinds == {"Gateway", "HTTPRoute", "ReferenceGrant"}
    code, out = _server_dry_run(gateway_api_server, spec, tmp_path / "valid")
    assert code == 0, out
    for n, (case, refusal) in enumerate(REFUSED_BY_THE_API_SERVER.items()):
        change, _ = INEXPRESSIBLE[case]
        refused = (
            _edge(GatewayApi.KUBERNETES, change)
            if isinstance(change, HttpRoute)
            else change(_edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES))
        )
        code, out = _server_dry_run(gateway_api_server, refused, tmp_path / f"refused-{n}")
        assert code != 0 and refusal in out, (case, out)


def _prod_with_bookinfo_on(api: GatewayApi, stack_specs: dict[str, MeshSpec]) -> MeshSpec:
    prod = stack_specs["prod"]
    gateways = tuple(
        g.model_copy(update={"api": api}) if g.name == "bookinfo-gateway" else g
        for g in prod.policy.gateways
    )
    return prod.model_copy(update={"policy": prod.policy.model_copy(update={"gateways": gateways})})


def test_an_ingress_route_its_gateway_may_not_call_is_refused(
    stack_specs: dict[str, MeshSpec],
) -> None:
    """prod's default-deny lets productpage be called by the installed ingress gateway's
    identity. Moved to the Gateway API, Bookinfo's ingress runs on a proxy istiod deploys
    (bookinfo/bookinfo-gateway-istio), which no policy allows: every request would get a
    403, so validation says so at the route, with the identity to allow."""
    assert validate(stack_specs["prod"]) == []
    moved = _prod_with_bookinfo_on(GatewayApi.KUBERNETES, stack_specs)
    problems = [p for p in validate(moved) if "403" in p.message]
    assert [p.path for p in problems] == [
        f"policy.virtual_services[bookinfo-ingress].http[{i}].destinations[0]" for i in range(4)
    ]
    assert "bookinfo/bookinfo-gateway-istio" in problems[0].message
    # The graph shows the same: who enters where, and with what verdict.
    entries = {(c.gateway, c.callee): c.verdict for c in who_can_enter(moved)}
    assert entries[("bookinfo/bookinfo-gateway", "bookinfo/productpage")] == Verdict.DENIED
    assert entries[("hipster-shop/boutique-gateway", "hipster-shop/frontend")] == Verdict.ALLOWED
    for name in ("dev", "staging", "prod"):
        assert all(c.verdict != Verdict.DENIED for c in who_can_enter(stack_specs[name])), name
    section = ingress_markdown(who_can_enter(moved))
    # One line for the four routes to productpage, naming each.
    (line,) = [x for x in section.splitlines() if "bookinfo/productpage" in x]
    assert line.startswith(
        "- bookinfo/bookinfo-gateway as bookinfo/bookinfo-gateway-istio → bookinfo/productpage: "
        "denied (default-deny); routes "
    )
    assert all(p in line for p in [x.path for x in problems]), line


@pulumi.runtime.test
def test_the_crds_come_first_and_are_protected_where_istios_are(engine: Any) -> Any:
    """Every Gateway API object waits for the Gateway API's CRDs, and a stack that protects
    Istio's CRDs protects these too (deleting one deletes every route of its kind)."""
    from engine import gateway_api_crds_dir
    from meshstack.components import MeshStack, MeshStackArgs

    local = GatewayApiCrds(source=GatewayApiCrdFiles(path=str(gateway_api_crds_dir())))
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES).model_copy(
        update={
            "gateway_api": local,
            "install": IstioInstall(protect=True, gateways=()),
            "gateway_workloads": (),
        }
    )
    mesh = MeshStack("mesh", MeshStackArgs(spec=spec))
    assert mesh.gateway_api is not None

    def check(_: Any) -> None:
        reg = engine.registrations
        crds = {name: r for name, r in reg.items() if "customresourcedefinition" in name}
        assert {name.rsplit("-", 1)[-1] for name in crds} >= {
            "httproutes.gateway.networking.k8s.io",
            "referencegrants.gateway.networking.k8s.io",
        }
        assert all(r.protect for r in crds.values())
        route = reg["mesh-policy-httproute-shop-shop-ingress"]
        waits_for = {*route.dependencies}
        # The SDK expands a dependency on the component into its children: every CRD.
        assert {r.urn for r in crds.values()} <= waits_for, "routes wait for the CRDs"

    return pulumi.Output.all(*(r.urn for r in mesh.policy.resources)).apply(check)


@pytest.mark.parametrize(
    ("istio", "gateway_api"),
    [
        ("1.5s", "1s500ms"),
        ("90s", "1m30s"),
        ("250ms", "250ms"),
        ("2h", "2h"),
        ("1500us", None),
        ("100000h", None),  # six digits: past the CRD's five
    ],
)
def test_durations_become_the_gateway_api_form(istio: str, gateway_api: str | None) -> None:
    assert gateway_api_duration(istio) == gateway_api
    if gateway_api is not None:
        assert re.fullmatch(r"([0-9]{1,5}(h|m|s|ms)){1,4}", gateway_api)  # the CRD's pattern


def _edge_jwt(**fields: Any) -> JwtRule:
    return JwtRule.model_validate(
        {
            "name": "edge-jwt",
            "namespace": "istio-ingress",
            "issuer": "https://issuer.test",
            "jwks_uri": "https://issuer.test/jwks",
            **fields,
        }
    )


def test_a_jwt_rule_attaches_to_a_gateway_api_gateway() -> None:
    """A Gateway API gateway's pods are istiod's; rules reach them through ``targetRefs``
    to the Gateway, which Istio's own schema accepts."""
    from istio_schemas import load_validators

    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    spec = spec.model_copy(
        update={
            "policy": spec.policy.model_copy(update={"jwt_rules": (_edge_jwt(gateway="edge"),)})
        }
    )
    assert validate(spec) == []
    attached = [o for o in render(spec) if o["metadata"]["name"].startswith("edge-jwt")]
    assert {o["kind"] for o in attached} == {"RequestAuthentication", "AuthorizationPolicy"}
    validators = load_validators()
    for obj in attached:
        assert "selector" not in obj["spec"]
        assert obj["spec"]["targetRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}
        ]
        validator = validators[(obj["apiVersion"], obj["kind"])]
        assert list(validator.iter_errors(obj["spec"])) == []


JWT_MISTAKES = {
    "a gateway and a workload": (_edge_jwt(gateway="edge", workload="api"), "gateway"),
    "an unknown gateway": (_edge_jwt(gateway="nowhere"), "gateway"),
    "a gateway in another namespace": (
        _edge_jwt(gateway="istio-ingress/edge", namespace="shop"),
        "gateway",
    ),
}


@pytest.mark.parametrize("case", sorted(JWT_MISTAKES))
def test_a_jwt_rule_on_a_gateway_is_checked(case: str) -> None:
    rule, field_name = JWT_MISTAKES[case]
    spec = _edge(GatewayApi.KUBERNETES, *AGREEING_ROUTES)
    spec = spec.model_copy(update={"policy": spec.policy.model_copy(update={"jwt_rules": (rule,)})})
    assert f"policy.jwt_rules[edge-jwt].{field_name}" in [p.path for p in validate(spec)]
    # An Istio gateway has an installed deployment: rules select it by `workload`.
    istio = _edge(GatewayApi.ISTIO, *AGREEING_ROUTES)
    on_istio = istio.model_copy(
        update={
            "policy": istio.policy.model_copy(update={"jwt_rules": (_edge_jwt(gateway="edge"),)})
        }
    )
    assert "policy.jwt_rules[edge-jwt].gateway" in [p.path for p in validate(on_istio)]


def test_a_rule_on_an_ingress_gateway_that_serves_no_route_is_refused(
    stack_specs: dict[str, MeshSpec],
) -> None:
    """prod's JWT rule selects the installed ingress gateway. Move both gateways to the
    Gateway API and that rule protects nothing: the tokens are no longer checked,
    silently. Validation says so at the rule and names the way to attach it."""
    prod = stack_specs["prod"]
    gateways = tuple(
        g.model_copy(update={"api": GatewayApi.KUBERNETES}) for g in prod.policy.gateways
    )
    moved = prod.model_copy(
        update={"policy": prod.policy.model_copy(update={"gateways": gateways})}
    )
    problems = [p for p in validate(moved) if p.path == "policy.jwt_rules[ingress-jwt].workload"]
    assert problems and "serves no Gateway" in problems[0].message
    assert "gateway=" in problems[0].message


def test_rules_on_a_gateway_do_not_reach_the_namespace_s_workloads() -> None:
    """A JWT rule and an authorization policy attached to a Gateway API gateway judge the
    gateway's requests only: the graph of the workloads beside it does not change."""
    front = Gateway(
        name="front",
        namespace="shop",
        servers=(GatewayServer(port=80, hosts=(HOST,)),),
        api=GatewayApi.KUBERNETES,
    )
    base = _with_policy_fields(_edge(GatewayApi.KUBERNETES), gateways=(front,), virtual_services=())
    attached = _with_policy_fields(
        base,
        jwt_rules=(_edge_jwt(namespace="shop", gateway="front"),),
        authorization_policies=(
            AuthorizationPolicy(
                name="front-callers",
                namespace="shop",
                gateway="front",
                rules=(AuthorizationRule(sources=(RequestSource(namespaces=("shop",)),)),),
            ),
        ),
    )
    assert validate(attached) == []

    def verdicts(spec: MeshSpec) -> list[tuple[str, str, str]]:
        return [(c.caller, c.callee, c.verdict.value) for c in who_can_call_whom(spec)]

    assert verdicts(attached) == verdicts(base)


def _with_policy_fields(spec: MeshSpec, **fields: Any) -> MeshSpec:
    return spec.model_copy(update={"policy": spec.policy.model_copy(update=fields)})
