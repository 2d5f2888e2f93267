"""SLOs in a stack's spec: validation refuses what would measure nothing, the diff flags an
SLO or alert removed and an objective loosened, and ``meshstack slo`` prints the rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from builders import shop
from meshstack.cli import main
from meshstack.diff import diff
from meshstack.route_names import proxy_routes
from meshstack.scaffold import init_project
from meshstack.spec import (
    Addons,
    Destination,
    HttpMatch,
    HttpRoute,
    MeshSpec,
    Prometheus,
    ServiceLevelObjective,
    SloAlerting,
    SloIndicator,
    SloRulesAsPrometheusRules,
    StringMatch,
    VirtualService,
)
from meshstack.spec.refs import ServiceKey
from meshstack.validation import validate

API = ServiceLevelObjective(name="availability", service="api", namespace="shop")


def with_slos(*slos: ServiceLevelObjective, prometheus: bool = True) -> MeshSpec:
    spec = shop(slos=slos)
    return spec.model_copy(
        update={"addons": Addons(prometheus=Prometheus() if prometheus else None)}
    )


OPERATOR = SloRulesAsPrometheusRules(labels={"release": "kube-prometheus-stack"})


def for_the_operator(
    spec: MeshSpec, delivery: SloRulesAsPrometheusRules = OPERATOR, *, addon: bool = False
) -> MeshSpec:
    """``spec`` with its SLO rules handed to the Operator's Prometheus (``addon``: the
    Prometheus add-on kept too)."""
    policy = spec.policy.model_copy(update={"slo_rules": delivery})
    addons = Addons(prometheus=Prometheus() if addon else None)
    return spec.model_copy(update={"policy": policy, "addons": addons})


def api(**fields: Any) -> ServiceLevelObjective:
    return API.model_copy(update=fields)


def routed(*routes: HttpRoute, slo: ServiceLevelObjective) -> MeshSpec:
    """The shop with a mesh VirtualService for api holding ``routes``, and ``slo``."""
    vs = VirtualService(name="api", namespace="shop", hosts=("api",), http=routes)
    spec = with_slos(slo)
    return spec.model_copy(
        update={"policy": spec.policy.model_copy(update={"virtual_services": (vs,)})}
    )


TO_API = (Destination(service="api"),)
EXPORT = HttpMatch(name="export", uri=StringMatch(prefix="/export"))
PER_ROUTE = api(group_by=("route_name",))


INVALID: dict[str, tuple[Callable[[], MeshSpec], str, str]] = {
    "a service the namespace does not run": (
        lambda: with_slos(api(service="apii")),
        "policy.slos[shop-apii-availability].service",
        "did you mean 'api'?",
    ),
    "a namespace not declared": (
        lambda: with_slos(api(namespace="shopp")),
        "policy.slos[shopp-api-availability].namespace",
        "not declared",
    ),
    "a latency SLO without a threshold": (
        lambda: with_slos(api(indicator=SloIndicator.LATENCY)),
        "policy.slos[shop-api-availability].latency_threshold_ms",
        "needs a threshold",
    ),
    "a threshold between two buckets": (
        lambda: with_slos(api(indicator=SloIndicator.LATENCY, latency_threshold_ms=300)),
        "policy.slos[shop-api-availability].latency_threshold_ms",
        "use 250 or 500",
    ),
    "a threshold on an availability SLO": (
        lambda: with_slos(api(latency_threshold_ms=250)),
        "policy.slos[shop-api-availability].latency_threshold_ms",
        "only a latency SLO",
    ),
    "no Prometheus to evaluate the rules": (
        lambda: with_slos(API, prometheus=False),
        "policy.slos",
        "enable addons.prometheus",
    ),
    "a PrometheusRule label that is no label": (
        lambda: for_the_operator(
            with_slos(API), SloRulesAsPrometheusRules(labels={"team/": "payments"})
        ),
        "policy.slo_rules.labels[team/]",
        "not a valid label key",
    ),
    "an objective of 100 %": (
        lambda: with_slos(api(objective=100.0)),
        "policy.slos[shop-api-availability].objective",
        "below 100",
    ),
    "a route left out that does not send to the service": (
        lambda: routed(
            HttpRoute(name="reports", match=(EXPORT,), destinations=TO_API),
            HttpRoute(name="rest", destinations=TO_API),
            slo=api(excluded_routes=("reports.exprt",)),
        ),
        "policy.slos[shop-api-availability].excluded_routes[0]",
        "did you mean 'reports.export'?",
    ),
    "an SLO kept per route beside an unnamed route": (
        lambda: routed(
            HttpRoute(name="reports", match=(EXPORT,), destinations=TO_API),
            HttpRoute(destinations=TO_API),
            slo=PER_ROUTE,
        ),
        "policy.slos[shop-api-availability].group_by",
        "the route at policy.virtual_services[api].http[1] has no name",
    ),
    "one SLO declared twice": (
        lambda: with_slos(API, api(objective=99.0)),
        "policy.slos[shop-api-availability].name",
        "declared twice",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID), ids=str)
def test_an_slo_that_would_measure_nothing_is_refused_at_its_field(case: str) -> None:
    build, path, message = INVALID[case]
    problems = validate(build())
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_slos_on_a_served_service_are_valid() -> None:
    latency = ServiceLevelObjective(
        name="fast",
        service="api",
        namespace="shop",
        indicator=SloIndicator.LATENCY,
        latency_threshold_ms=250,
    )
    assert validate(with_slos(API, latency)) == []


def test_an_slo_kept_per_route_knows_the_names_istio_gives_the_routes() -> None:
    """``<route>.<match>`` for a named match, the route's own name for the rest, Istio's
    ``default`` for a service no mesh route covers."""
    spec = routed(
        HttpRoute(
            name="reports",
            match=(EXPORT, HttpMatch(method=StringMatch(exact="POST"))),
            destinations=TO_API,
        ),
        HttpRoute(name="rest", destinations=TO_API),
        slo=api(group_by=("route_name",), excluded_routes=("reports.export", "reports", "rest")),
    )
    assert validate(spec) == []
    assert validate(with_slos(api(excluded_routes=("default",)))) == []


def _risks(base: MeshSpec, head: MeshSpec) -> list[str]:
    return [c.risk for c in diff(base, head) if c.risk]


@pytest.mark.parametrize(
    ("head", "risk"),
    [
        ((), "SLO removed"),
        ((api(objective=99.0),), "SLO loosened: objective 99.9 % → 99.0 %"),
        ((api(alerting=SloAlerting(page=False)),), "page alert removed"),
        ((api(excluded_codes=(503,)),), "more response codes left out"),
        ((api(excluded_routes=("default",)),), "more routes left out"),
        ((api(group_by=("route_name",)),), "measured at the callers"),
    ],
)
def test_the_diff_flags_an_slo_weakened(head: tuple[ServiceLevelObjective, ...], risk: str) -> None:
    risks = _risks(with_slos(API), with_slos(*head))
    assert any(risk in r for r in risks), risks


def test_a_tighter_objective_is_a_change_not_a_risk() -> None:
    changes = diff(with_slos(API), with_slos(api(objective=99.95)))
    assert [str(c.key) for c in changes] == ["slo shop/api availability objective"]
    assert not any(c.risk for c in changes)


def _project_with_an_slo(tmp_path: Path, service: str) -> Path:
    """``meshstack init``'s project, its dev stack given Prometheus and an SLO for ``service``."""
    project = tmp_path / "payments"
    init_project(project)
    dev = project / "stacks" / "dev.py"
    dev.write_text(
        dev.read_text()
        + f"""

_scaffolded = spec


def spec():  # the scaffold's spec, with Prometheus and an availability SLO
    from meshstack.spec import Addons, Prometheus, ServiceLevelObjective

    base = _scaffolded()
    slo = ServiceLevelObjective(name="availability", service="{service}", namespace="payments")
    policy = base.policy.model_copy(update={{"slos": (slo,)}})
    return base.model_copy(update={{"policy": policy, "addons": Addons(prometheus=Prometheus())}})
"""
    )
    return project


def test_meshstack_slo_prints_the_stacks_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with_an_slo(tmp_path, "api")
    assert main(["--project", str(project), "slo", "dev"]) == 0
    rules = yaml.safe_load(capsys.readouterr().out)
    names = [g["name"] for g in rules["groups"]]
    assert names == [
        "slo-payments-api-availability-recording",
        "slo-payments-api-availability-alerts",
    ]
    alerts = [r["alert"] for r in rules["groups"][1]["rules"]]
    assert alerts == ["SLOAvailabilityBurnRatePage", "SLOAvailabilityBurnRateTicket"]


def test_an_slo_problem_names_the_stack_file_line_that_built_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with_an_slo(tmp_path, "apii")
    assert main(["--project", str(project), "validate", "dev"]) == 1
    lines = (project / "stacks" / "dev.py").read_text().splitlines()
    built = next(n for n, line in enumerate(lines, 1) if "ServiceLevelObjective(name=" in line)
    out = capsys.readouterr()
    assert f"stacks/dev.py:{built}: policy.slos[payments-apii-availability].service" in (
        out.out + out.err
    )


def test_the_prometheus_chart_loads_the_rules_as_its_rule_files() -> None:
    """With the add-ons from their charts, the prometheus-community chart's ``serverFiles``
    carry the rule files its default ``rule_files`` names (the engine test covers Istio's
    sample manifest, which the offline tests deploy)."""
    from meshstack.render import stack_releases

    spec = with_slos(API)
    [prometheus] = [r for r in stack_releases(spec) if r.name == "prometheus"]
    files = prometheus.values["serverFiles"]
    assert [g["name"] for g in files["recording_rules.yml"]["groups"]] == [
        "slo-shop-api-availability-recording"
    ]
    assert [g["name"] for g in files["alerting_rules.yml"]["groups"]] == [
        "slo-shop-api-availability-alerts"
    ]
    [without] = [r for r in stack_releases(with_slos()) if r.name == "prometheus"]
    assert "serverFiles" not in without.values


def test_the_operator_evaluates_the_rules_as_one_prometheus_rule_per_slo() -> None:
    """``SloRulesAsPrometheusRules``: the same groups as the add-on's rule files, in a
    ``PrometheusRule`` per SLO carrying the labels the Operator's ``ruleSelector`` matches;
    the add-on (kept here) loads none of them, and no add-on is needed."""
    from meshstack.render import render, stack_releases
    from meshstack.render.slo import rule_groups

    latency = api(name="fast", indicator=SloIndicator.LATENCY, latency_threshold_ms=250)
    spec = for_the_operator(with_slos(API, latency), addon=True)
    assert validate(spec) == []
    rules = [o for o in render(spec) if o["kind"] == "PrometheusRule"]
    assert [
        (o["apiVersion"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in rules
    ] == [
        ("monitoring.coreos.com/v1", "shop", "slo-shop-api-availability"),
        ("monitoring.coreos.com/v1", "shop", "slo-shop-api-fast"),
    ]
    assert all(o["metadata"]["labels"]["release"] == "kube-prometheus-stack" for o in rules)
    assert [g for o in rules for g in o["spec"]["groups"]] == rule_groups((API, latency))["groups"]
    [prometheus] = [r for r in stack_releases(spec) if r.name == "prometheus"]
    assert "serverFiles" not in prometheus.values

    elsewhere = for_the_operator(with_slos(API), SloRulesAsPrometheusRules(namespace="monitoring"))
    assert validate(elsewhere) == []  # the Operator's namespace need not be the stack's
    [moved] = [o for o in render(elsewhere) if o["kind"] == "PrometheusRule"]
    assert moved["metadata"]["namespace"] == "monitoring"


def test_the_add_on_delivery_renders_no_prometheus_rule() -> None:
    from meshstack.render import render

    assert not [o for o in render(with_slos(API)) if o["kind"] == "PrometheusRule"]


def test_moving_the_rules_to_another_prometheus_is_flagged() -> None:
    changes = diff(with_slos(API), for_the_operator(with_slos(API), addon=True))
    moved = [c for c in changes if str(c.key).startswith("slo rules")]
    assert [str(c.key) for c in moved] == ["slo rules kind", "slo rules labels"]
    assert moved[0].risk and "must load them" in moved[0].risk


def test_an_slos_own_labels_and_annotations_reach_both_alerts() -> None:
    from meshstack.render.slo import rule_groups

    alerting = SloAlerting(
        labels={"team": "shop"},
        annotations={"dashboard": "https://grafana.test/d/api", "summary": "ignored"},
        runbook_url="https://runbooks.test/api",
    )
    [_, alerts] = rule_groups([api(alerting=alerting)])["groups"]
    for rule in alerts["rules"]:
        assert rule["labels"]["team"] == "shop" and rule["labels"]["severity"] in ("page", "ticket")
        assert rule["annotations"]["dashboard"] == "https://grafana.test/d/api"
        assert rule["annotations"]["runbook_url"] == "https://runbooks.test/api"
        assert "error budget" in rule["annotations"]["summary"]  # meshstack's own


def test_meshstack_slo_prints_the_prometheus_rules_the_operator_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with_an_slo(tmp_path, "api")
    dev = project / "stacks" / "dev.py"
    dev.write_text(
        dev.read_text()
        + """

_with_addon = spec


def spec():  # the same SLO, for the Operator's Prometheus
    from meshstack.spec import SloRulesAsPrometheusRules

    base = _with_addon()
    rules = SloRulesAsPrometheusRules(labels={"release": "kps"})
    return base.model_copy(update={"policy": base.policy.model_copy(update={"slo_rules": rules})})
"""
    )
    assert main(["--project", str(project), "slo", "dev"]) == 0
    [rule] = list(yaml.safe_load_all(capsys.readouterr().out))
    assert (rule["kind"], rule["metadata"]["name"]) == (
        "PrometheusRule",
        "slo-payments-api-availability",
    )
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert [g["name"] for g in rule["spec"]["groups"]] == [
        "slo-payments-api-availability-recording",
        "slo-payments-api-availability-alerts",
    ]


def test_a_gateway_api_routes_names_are_its_rules_names(stack_specs: dict[str, MeshSpec]) -> None:
    """dev's Bookinfo enters through an HTTPRoute: Istio names each route after its rule
    (``<namespace>.<route>.<position>`` for an unnamed one), so those are the names."""
    names = {
        r.name for r in proxy_routes(stack_specs["dev"])[ServiceKey("bookinfo", "productpage")]
    }
    assert {"productpage", "static", "sign-in", "api"} <= names
    vs = stack_specs["dev"].policy.virtual_services[0]
    unnamed = vs.model_copy(
        update={"http": tuple(r.model_copy(update={"name": None}) for r in vs.http)}
    )
    policy = stack_specs["dev"].policy.model_copy(update={"virtual_services": (unnamed,)})
    spec = stack_specs["dev"].model_copy(update={"policy": policy})
    names = {r.name for r in proxy_routes(spec)[ServiceKey("bookinfo", "productpage")]}
    assert {f"bookinfo.bookinfo-ingress.{i}" for i in range(4)} <= names
