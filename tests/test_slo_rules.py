"""SLO rules judged by Prometheus's own tool: ``promtool check rules`` parses every rule
meshstack writes, and ``promtool test rules`` evaluates them against synthetic Istio
series, so the page and ticket alerts fire where the SRE workbook says and nowhere else.

Synthetic traffic: 100 requests/s to ``productpage`` (one sample a minute), of which a
share answers 500. For a 99.9 % SLO the budget is 0.1 %: 2 % errors burn it 20 x (page:
above 14.4 x over 1 h and 5 m), 0.2 % burn it 2 x (ticket: above 1 x over 3 d and 6 h; no
page), 0.05 % half as fast as allowed (nothing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from meshstack.render.slo import rule_groups
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.slo import ServiceLevelObjective, SloAlerting, SloIndicator

pytestmark = pytest.mark.engine

PAGE = "SLOAvailabilityBurnRatePage"
TICKET = "SLOAvailabilityBurnRateTicket"

AVAILABILITY = ServiceLevelObjective(
    name="availability", service="productpage", namespace="bookinfo", objective=99.9
)
LATENCY = ServiceLevelObjective(
    name="latency",
    service="productpage",
    namespace="bookinfo",
    indicator=SloIndicator.LATENCY,
    objective=99.0,
    latency_threshold_ms=250,
    alerting=SloAlerting(ticket=False),
)
PER_VERSION = ServiceLevelObjective(
    name="availability",
    service="reviews",
    namespace="bookinfo",
    objective=99.9,
    group_by=("destination_version",),
)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed (Debian's prometheus package; .ci/run installs it)")
    return found


def _write_rules(tmp_path: Path, *slos: ServiceLevelObjective) -> Path:
    rules = tmp_path / "slo-rules.yaml"
    rules.write_text(yaml.safe_dump(rule_groups(slos), sort_keys=False))
    return rules


def _requests(
    service: str, code: str, per_minute: float, minutes: int, **labels: str
) -> dict[str, Any]:
    names = {
        "reporter": "destination",
        "destination_service_name": service,
        "destination_service_namespace": "bookinfo",
        "response_code": code,
        **labels,
    }
    series = "istio_requests_total{" + ",".join(f'{k}="{v}"' for k, v in names.items()) + "}"
    return {"series": series, "values": f"0+{per_minute:g}x{minutes}"}


def _traffic(error_share: float, minutes: int = 8 * 60, **labels: str) -> list[dict[str, Any]]:
    """100 requests/s, ``error_share`` of them 500s, for ``minutes``."""
    total = 6000.0
    return [
        _requests("productpage", "200", total * (1 - error_share), minutes, **labels),
        _requests("productpage", "500", total * error_share, minutes, **labels),
    ]


def _burst(error_share: float, *, quiet: int, burst: int) -> list[dict[str, Any]]:
    """100 requests/s without errors for ``quiet`` minutes, then ``error_share`` of them
    500s for ``burst`` minutes (promtool's ``start+step x count`` runs, one after another)."""
    total = 6000.0
    good = _requests("productpage", "200", 0, 0)
    bad = _requests("productpage", "500", 0, 0)
    good["values"] = (
        f"0+{total:g}x{quiet} {total * quiet + total * (1 - error_share):g}+{total * (1 - error_share):g}x{burst - 1}"
    )
    bad["values"] = f"0+0x{quiet} {total * error_share:g}+{total * error_share:g}x{burst - 1}"
    return [good, bad]


def _shifting_traffic() -> list[dict[str, Any]]:
    """Per 10-minute sample: 600 000 good requests for 2 days, then 5 940 good and 60 bad."""
    busy, quiet = 288, 144  # samples of 10 minutes
    good = _requests("productpage", "200", 0, 0)
    bad = _requests("productpage", "500", 0, 0)
    good["values"] = f"0+600000x{busy} {600000 * busy + 5940}+5940x{quiet - 1}"
    bad["values"] = f"0+0x{busy} 60+60x{quiet - 1}"
    return [good, bad]


def _alerts(slo: ServiceLevelObjective, severity: str) -> dict[str, str]:
    return {
        "slo_id": slo.id,
        "slo_service": slo.service,
        "slo_namespace": slo.namespace,
        "severity": severity,
    }


def _test(
    tmp_path: Path, rules: Path, cases: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "slo-test.yaml"
    # Recordings before alerts at each instant, as the file lists them (promtool's own
    # order of groups is unspecified: an alert could read the ratios a minute late).
    order = [g["name"] for g in yaml.safe_load(rules.read_text())["groups"]]
    spec.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules.name],
                "evaluation_interval": "1m",
                "group_eval_order": order,
                "tests": cases,
            },
            sort_keys=False,
        )
    )
    return subprocess.run(
        [promtool(), "test", "rules", spec.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def _case(
    slo: ServiceLevelObjective,
    series: list[dict[str, Any]],
    at: str,
    alertname: str,
    firing: list[dict[str, str]],
    interval: str = "1m",
) -> dict[str, Any]:
    """``firing``: the labels of each alert expected at ``at`` (the annotations are the
    rule's own text, taken from what was rendered: this judges when alerts fire)."""
    return {
        "interval": interval,
        "input_series": series,
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": alertname,
                "exp_alerts": [
                    {"exp_labels": labels, "exp_annotations": _annotations(slo, alertname)}
                    for labels in firing
                ],
            }
        ],
    }


def _annotations(slo: ServiceLevelObjective, alertname: str) -> dict[str, str]:
    for group in rule_groups([slo])["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alertname:
                annotations: dict[str, str] = rule["annotations"]
                return annotations
    raise AssertionError(f"no rule {alertname}")


def test_every_rule_passes_promtool_check(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, AVAILABILITY, LATENCY, PER_VERSION)
    done = subprocess.run(
        [promtool(), "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_availability_alerts_fire_where_the_workbook_says(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, AVAILABILITY)
    page, ticket = _alerts(AVAILABILITY, "page"), _alerts(AVAILABILITY, "ticket")
    cases = [
        # 2 % errors: 20 x the budget's rate pages (and tickets: above 3 x over 1 d / 2 h).
        _case(AVAILABILITY, _traffic(0.02), "2h", PAGE, [page]),
        _case(AVAILABILITY, _traffic(0.02), "3h", TICKET, [ticket]),
        # Each page clause on its own. 0.8 % (8 x): under 14.4 x, above 6 x over 6 h and 30 m.
        _case(AVAILABILITY, _traffic(0.008), "7h", PAGE, [page]),
        # Six quiet hours, then one of 2 %: the 6 h ratio is 0.33 % (3.3 x, under 6 x), the
        # 1 h and 5 m ratios 2 % (20 x): the 1 h clause pages alone.
        _case(AVAILABILITY, _burst(0.02, quiet=360, burst=60), "7h", PAGE, [page]),
        # 0.2 %: 2 x tickets (above 1 x over 3 d and 6 h), and does not page.
        _case(AVAILABILITY, _traffic(0.002), "7h", TICKET, [ticket]),
        _case(AVAILABILITY, _traffic(0.002), "7h", PAGE, []),
        # The 1 d ticket clause on its own: two busy days without errors (1000 requests/s),
        # then a quiet day (10/s) with 1 % errors: 10 x over 1 d and 2 h, while the 3 d
        # ratio, weighed by the busy days, stays far under 1 x.
        _case(AVAILABILITY, _shifting_traffic(), "3d", TICKET, [ticket], interval="10m"),
        # 0.05 %: inside the budget: nothing.
        _case(AVAILABILITY, _traffic(0.0005), "7h", PAGE, []),
        _case(AVAILABILITY, _traffic(0.0005), "7h", TICKET, []),
        # No traffic at all (the counters stand still): nothing fires.
        _case(AVAILABILITY, [_requests("productpage", "200", 0, 480)], "7h", PAGE, []),
        _case(AVAILABILITY, [_requests("productpage", "200", 0, 480)], "7h", TICKET, []),
    ]
    done = _test(tmp_path, rules, cases)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_idle_service_records_zero_not_nan(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, AVAILABILITY)
    case = {
        "interval": "1m",
        "input_series": [_requests("productpage", "200", 0, 120)],
        "promql_expr_test": [
            {
                "expr": 'slo:sli_error:ratio_rate5m{slo_id="bookinfo-productpage-availability"}',
                "eval_time": "1h",
                "exp_samples": [
                    {
                        "labels": _series_labels(AVAILABILITY, "slo:sli_error:ratio_rate5m"),
                        "value": 0,
                    }
                ],
            }
        ],
    }
    done = _test(tmp_path, rules, [case])
    assert done.returncode == 0, done.stdout + done.stderr


def _series_labels(slo: ServiceLevelObjective, name: str, **extra: str) -> str:
    labels = {
        "__name__": name,
        "slo_id": slo.id,
        "slo_namespace": slo.namespace,
        "slo_service": slo.service,
        **extra,
    }
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_a_latency_slo_pages_on_slow_requests_only(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, LATENCY)
    page = _alerts(LATENCY, "page")

    def histogram(slow_share: float) -> list[dict[str, Any]]:
        base = 'istio_request_duration_milliseconds_{}{{reporter="destination",destination_service_name="productpage",destination_service_namespace="bookinfo"{}}}'
        total = 6000.0
        return [
            {
                "series": base.format("bucket", ',le="250"'),
                "values": f"0+{total * (1 - slow_share):g}x480",
            },
            {"series": base.format("bucket", ',le="+Inf"'), "values": f"0+{total:g}x480"},
            {"series": base.format("count", ""), "values": f"0+{total:g}x480"},
        ]

    cases = [
        _case(
            LATENCY, histogram(0.30), "2h", "SLOLatencyBurnRatePage", [page]
        ),  # 30 x a 1 % budget
        _case(
            LATENCY, histogram(0.005), "2h", "SLOLatencyBurnRatePage", []
        ),  # half the budget's rate
    ]
    done = _test(tmp_path, rules, cases)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_grouped_slo_alerts_for_the_failing_group_only(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, PER_VERSION)

    def reviews(version: str, share: float) -> list[dict[str, Any]]:
        return [
            _requests("reviews", "200", 6000 * (1 - share), 480, destination_version=version),
            _requests("reviews", "500", 6000 * share, 480, destination_version=version),
        ]

    failing = {**_alerts(PER_VERSION, "page"), "destination_version": "v3"}
    cases = [_case(PER_VERSION, reviews("v1", 0.0) + reviews("v3", 0.05), "2h", PAGE, [failing])]
    done = _test(tmp_path, rules, cases)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_stacks_rules_pass_promtool_check(
    stack_specs: dict[str, MeshSpec], tmp_path: Path
) -> None:
    """What each shipped stack gives its Prometheus; prod declares SLOs on the two
    services users reach."""
    with_slos = {name: spec for name, spec in stack_specs.items() if spec.policy.slos}
    assert {(s.namespace, s.service) for s in with_slos["prod"].policy.slos} == {
        ("bookinfo", "productpage"),
        ("hipster-shop", "frontend"),
    }
    for name, spec in with_slos.items():
        rules = tmp_path / f"{name}.yaml"
        rules.write_text(yaml.safe_dump(rule_groups(spec.policy.slos), sort_keys=False))
        done = subprocess.run(
            [promtool(), "check", "rules", str(rules)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (name, done.stdout + done.stderr)


PER_ROUTE = AVAILABILITY.model_copy(update={"group_by": ("route_name",)})


def _route_traffic(route: str, share: float, reporter: str = "source") -> list[dict[str, Any]]:
    return _traffic(share, reporter=reporter, route_name=route)


def test_an_slo_kept_per_route_pages_for_the_failing_route_only(tmp_path: Path) -> None:
    """Counted where the route is named, at the callers (``reporter="source"``): the
    callee's own report of the same failing requests (which names no route) is not read
    again, and only the failing route pages."""
    rules = _write_rules(tmp_path, PER_ROUTE)
    series = (
        _route_traffic("productpage", 0.0)
        + _route_traffic("api", 0.05)
        + _traffic(0.05, reporter="destination")
    )
    failing = {**_alerts(PER_ROUTE, "page"), "route_name": "api"}
    cases = [_case(PER_ROUTE, series, "2h", PAGE, [failing])]
    done = _test(tmp_path, rules, cases)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_route_left_out_counts_neither_good_nor_bad(tmp_path: Path) -> None:
    """The route's name is matched literally: ``reports.export`` is left out, a route
    whose name differs only where a regex's ``.`` would match still counts."""
    slo = AVAILABILITY.model_copy(update={"excluded_routes": ("reports.export",)})
    rules = _write_rules(tmp_path, slo)
    quiet = _route_traffic("productpage", 0.0) + _route_traffic("reports.export", 0.5)
    lookalike = _route_traffic("productpage", 0.0) + _route_traffic("reportsxexport", 0.5)
    cases = [
        _case(slo, quiet, "2h", PAGE, []),
        _case(slo, lookalike, "2h", PAGE, [_alerts(slo, "page")]),
    ]
    done = _test(tmp_path, rules, cases)
    assert done.returncode == 0, done.stdout + done.stderr
