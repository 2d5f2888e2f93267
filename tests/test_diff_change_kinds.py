"""``meshstack diff``: one exact line per kind of change the issue lists.

Each case changes one thing on the small ``shop`` mesh (web → api v1/v2) and
states the whole expected output, so a new or missing line fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import route, shop
from meshstack.diff import diff
from meshstack.spec import (
    AbortFault,
    ConnectionPool,
    Destination,
    DestinationPolicy,
    ExternalService,
    FaultInjection,
    HttpMatch,
    IstioInstall,
    JwtRule,
    LoadBalancer,
    MeshSpec,
    Mirror,
    OutlierDetection,
    RetryPolicy,
    ServicePort,
    StringMatch,
    Subset,
)
from meshstack.spec.addons import Addons, Prometheus
from meshstack.spec.install import ControlPlane

SPLIT = (
    Destination(service="api", subset="v1", weight=90),
    Destination(service="api", subset="v2", weight=10),
)
SUBSETS = (Subset(name="v1", version="v1"), Subset(name="v2", version="v2"))


def lines(base: MeshSpec, head: MeshSpec) -> list[str]:
    return [c.line() for c in diff(base, head)]


def routed(**fields: Any) -> MeshSpec:
    return shop(virtual_services=(route(*SPLIT, **fields),))


def policy(**fields: Any) -> MeshSpec:
    return shop(
        destination_policies=(
            DestinationPolicy(service="api", namespace="shop", subsets=SUBSETS, **fields),
        )
    )


ROUTE = "route shop/api#0"
DESTINATION = "destination policy shop/api"
PAYMENTS = ExternalService(
    name="payments",
    namespace="shop",
    hosts=("pay.example.test",),
    ports=(ServicePort(number=443, protocol="tls"),),
)
JWT = JwtRule(
    name="jwt",
    namespace="shop",
    workload="web",
    issuer="https://issuer.test",
    jwks_uri="https://issuer.test/jwks",
)


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        pytest.param(
            routed(),
            shop(
                virtual_services=(
                    route(
                        Destination(service="api", subset="v1", weight=50),
                        Destination(service="api", subset="v2", weight=50),
                    ),
                )
            ),
            [
                f'{ROUTE} destinations: [{{"service": "api", "subset": "v1", "weight": 90}}, {{"service": "api", "subset": "v2", "weight": 10}}]'
                f' → [{{"service": "api", "subset": "v1", "weight": 50}}, {{"service": "api", "subset": "v2", "weight": 50}}]'
            ],
            id="weights",
        ),
        pytest.param(
            routed(),
            routed(match=(HttpMatch(headers={"x-beta": StringMatch(exact="1")}),)),
            [f'{ROUTE} match: added: [{{"headers": {{"x-beta": {{"exact": "1"}}}}}}]'],
            id="matches",
        ),
        pytest.param(
            routed(),
            routed(mirror=Mirror(service="api", subset="v2", percentage=20)),
            [f'{ROUTE} mirror: added: {{"service": "api", "subset": "v2", "percentage": 20.0}}'],
            id="mirror",
        ),
        pytest.param(
            routed(timeout="5s"),
            routed(timeout="10s"),
            [f'{ROUTE} timeout: "5s" → "10s"'],
            id="timeout",
        ),
        pytest.param(
            routed(retries=RetryPolicy(attempts=2)),
            routed(retries=RetryPolicy(attempts=5, per_try_timeout="1s")),
            [f'{ROUTE} retries: {{"attempts": 2}} → {{"attempts": 5, "per_try_timeout": "1s"}}'],
            id="retries",
        ),
        pytest.param(
            routed(),
            routed(fault=FaultInjection(abort=AbortFault(http_status=503, percentage=10))),
            [f'{ROUTE} fault: added: {{"abort": {{"http_status": 503, "percentage": 10.0}}}}'],
            id="fault outside prod: a plain change",
        ),
        pytest.param(
            policy(),
            shop(
                destination_policies=(
                    DestinationPolicy(service="api", namespace="shop", subsets=SUBSETS[:1]),
                )
            ),
            [
                f'{DESTINATION} subsets: [{{"name": "v1", "version": "v1"}}, {{"name": "v2", "version": "v2"}}]'
                ' → [{"name": "v1", "version": "v1"}]'
            ],
            id="subsets",
        ),
        pytest.param(
            policy(),
            policy(load_balancer=LoadBalancer.LEAST_REQUEST),
            [f'{DESTINATION} load_balancer: added: "LEAST_REQUEST"'],
            id="load balancer",
        ),
        pytest.param(
            policy(connection_pool=ConnectionPool(max_connections=100)),
            policy(
                connection_pool=ConnectionPool(max_connections=10),
                outlier_detection=OutlierDetection(consecutive_5xx_errors=3),
            ),
            [
                f'{DESTINATION} connection_pool: {{"max_connections": 100}} → {{"max_connections": 10}}',
                f'{DESTINATION} outlier_detection: added: {{"consecutive_5xx_errors": 3}}',
            ],
            id="circuit breaking",
        ),
        pytest.param(
            shop(jwt_rules=(JWT,)),
            shop(
                jwt_rules=(JWT.model_copy(update={"audiences": ("shop",), "require_token": False}),)
            ),
            [
                'JWT shop/jwt audiences: added: ["shop"]',
                "JWT shop/jwt require_token: added: false  ⚠ token no longer required",
                # without a required token, web's in-mesh callers (which carry none) get in
                "shop/api → shop/web: added: allowed  ⚠ access widened",
            ],
            id="jwt",
        ),
        pytest.param(
            shop(),
            shop(external_services=(PAYMENTS,)),
            [
                'egress shop/payments: added: {"name": "payments", "namespace": "shop", "hosts": ["pay.example.test"],'
                ' "ports": [{"number": 443, "protocol": "tls"}]}',
                # straight from the sidecars, so every workload can now reach the host
                "shop/api → external/pay.example.test: added: allowed  ⚠ access widened",
                "shop/web → external/pay.example.test: added: allowed  ⚠ access widened",
            ],
            id="egress",
        ),
    ],
)
def test_each_change_kind_is_one_exact_line(
    base: MeshSpec, head: MeshSpec, expected: list[str]
) -> None:
    assert lines(base, head) == expected


def _installed(*revisions: tuple[str, str | None], addons: Addons | None = None) -> MeshSpec:
    planes = tuple(ControlPlane(revision=name, version=version) for name, version in revisions)
    spec = shop().model_copy(
        update={"install": IstioInstall(control_planes=planes, default_revision=planes[0].revision)}
    )
    return spec.model_copy(update={"addons": addons}) if addons is not None else spec


def test_a_new_istiod_revision_and_an_add_on_are_one_line_each() -> None:
    base = _installed(("1-30-4", None))
    head = _installed(
        ("1-30-4", None), ("1-30-3", "1.30.3"), addons=Addons(prometheus=Prometheus())
    )
    assert lines(base, head) == [
        "add-ons: none → prometheus",
        "istiod revisions: 1-30-4@1.30.4 → 1-30-4@1.30.4, 1-30-3@1.30.3",
    ]
