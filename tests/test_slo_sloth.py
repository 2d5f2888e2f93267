"""meshstack's SLO alerts against Sloth's, for the same SLO and the same synthetic series.

Sloth (github.com/slok/sloth, built by ``toolchain.sh`` from its Go module) generates
multi-window multi-burn-rate rules from its own SLO spec. Each case here writes that spec
by hand — the Istio metric and labels spelled out, not taken from meshstack's code — so the
two generators share nothing but the metric names. promtool then evaluates both rule sets
on the same series, asking at every point of a time grid for no alert; every failure it
reports is an alert that fired, with its labels. The page and ticket alerts of both must
fire at exactly the same evaluation times (and groups), and each case that should alert
must alert at all, so two silent rule sets cannot agree by accident.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine import toolchain_bin
from engine_stack import require_toolchain
from meshstack.render.slo import rule_groups
from meshstack.spec.slo import ServiceLevelObjective, SloAlerting
from test_slo_rules import AVAILABILITY, PER_VERSION, promtool
from test_slo_rules import LATENCY as LATENCY_PAGE_ONLY

pytestmark = pytest.mark.engine

PRODUCTPAGE = (
    'reporter="destination",destination_service_name="productpage",'
    'destination_service_namespace="bookinfo"'
)
REVIEWS = (
    'reporter="destination",destination_service_name="reviews",'
    'destination_service_namespace="bookinfo"'
)


@dataclass(frozen=True)
class Case:
    """One SLO both ways, the series it is judged on, and the grid of evaluation times
    (minutes) at which the alerts are read."""

    slo: ServiceLevelObjective
    sloth_sli: dict[str, str]
    """Sloth's ``sli.events`` (``{{.window}}`` in both queries), written by hand."""
    series: list[dict[str, str]]
    grid: range
    interval: str = "1m"
    alerts: bool = True
    """Whether anything should fire at all (so that agreement is not two silences)."""
    sloth_group_by: str = ""


def _counter(labels: str, per_sample: Iterable[float]) -> dict[str, str]:
    """A counter series that grows by each of ``per_sample`` in turn, as promtool's
    ``start+step x count`` runs."""
    values: list[str] = []
    total = 0.0
    runs: list[tuple[float, int]] = []
    for step in per_sample:
        if runs and runs[-1][0] == step:
            runs[-1] = (step, runs[-1][1] + 1)
        else:
            runs.append((step, 1))
    values.append("0")
    for step, count in runs:
        values.append(f"{total + step:g}+{step:g}x{count - 1}")
        total += step * count
    return {"series": labels, "values": " ".join(values)}


def _requests(selector: str, code: str, per_minute: list[float], **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    return _counter(f'istio_requests_total{{{selector},response_code="{code}"{extra}}}', per_minute)


def _traffic(
    shares: list[float], selector: str = PRODUCTPAGE, rate: float = 6000, **labels: str
) -> list[dict[str, str]]:
    """``rate`` requests per sample, ``shares[i]`` of them 500s in sample ``i``."""
    return [
        _requests(selector, "200", [rate * (1 - s) for s in shares], **labels),
        _requests(selector, "500", [rate * s for s in shares], **labels),
    ]


AVAILABILITY_SLI = {
    "error_query": (
        f'sum(rate(istio_requests_total{{{PRODUCTPAGE},response_code=~"5.."}}[{{{{.window}}}}]))'
    ),
    "total_query": f"sum(rate(istio_requests_total{{{PRODUCTPAGE}}}[{{{{.window}}}}]))",
}
LATENCY = LATENCY_PAGE_ONLY.model_copy(update={"alerting": SloAlerting()})
"""``test_slo_rules``' latency SLO, with its ticket alert too."""
LATENCY_SLI = {
    "error_query": (
        f"(sum(rate(istio_request_duration_milliseconds_count{{{PRODUCTPAGE}}}[{{{{.window}}}}]))"
        f' - sum(rate(istio_request_duration_milliseconds_bucket{{{PRODUCTPAGE},le="250"}}'
        "[{{.window}}])))"
    ),
    "total_query": (
        f"sum(rate(istio_request_duration_milliseconds_count{{{PRODUCTPAGE}}}[{{{{.window}}}}]))"
    ),
}
PER_VERSION_SLI = {
    "error_query": (
        "sum by (destination_version) (rate(istio_requests_total"
        f'{{{REVIEWS},response_code=~"5.."}}[{{{{.window}}}}]))'
    ),
    "total_query": (
        f"sum by (destination_version) (rate(istio_requests_total{{{REVIEWS}}}[{{{{.window}}}}]))"
    ),
}


def _histogram(slow: list[float], rate: float = 6000) -> list[dict[str, str]]:
    base = "istio_request_duration_milliseconds"
    return [
        _counter(f'{base}_bucket{{{PRODUCTPAGE},le="250"}}', [rate * (1 - s) for s in slow]),
        _counter(f'{base}_bucket{{{PRODUCTPAGE},le="+Inf"}}', [rate] * len(slow)),
        _counter(f"{base}_count{{{PRODUCTPAGE}}}", [rate] * len(slow)),
    ]


HOURS_8 = 8 * 60
CASES = {
    # 2 % errors from the start: both alerts, from early on.
    "steady 2 % errors": Case(
        AVAILABILITY, AVAILABILITY_SLI, _traffic([0.02] * HOURS_8), range(0, HOURS_8, 5)
    ),
    # Six quiet hours, 40 minutes of 5 %, then quiet again: when the page starts and stops.
    "a 40-minute burst": Case(
        AVAILABILITY,
        AVAILABILITY_SLI,
        _traffic([0.0] * 360 + [0.05] * 40 + [0.0] * 320),
        range(300, 720, 1),
    ),
    # 0.8 %: the 6 h clause pages (8 x), the 1 h one does not (under 14.4 x).
    "0.8 % errors": Case(
        AVAILABILITY, AVAILABILITY_SLI, _traffic([0.008] * HOURS_8), range(0, HOURS_8, 5)
    ),
    # 0.2 % for four days, sampled every 10 minutes: tickets only.
    "0.2 % for days": Case(
        AVAILABILITY,
        AVAILABILITY_SLI,
        _traffic([0.002] * (4 * 144), rate=60000),
        range(0, 4 * 24 * 60, 30),
        interval="10m",
    ),
    # Inside the budget, and no traffic at all: nothing.
    "0.05 % errors": Case(
        AVAILABILITY,
        AVAILABILITY_SLI,
        _traffic([0.0005] * HOURS_8),
        range(0, HOURS_8, 10),
        alerts=False,
    ),
    "no traffic": Case(
        AVAILABILITY,
        AVAILABILITY_SLI,
        _traffic([0.0] * HOURS_8, rate=0),
        range(0, HOURS_8, 10),
        alerts=False,
    ),
    # Latency: 3 % slower than 250 ms for three hours, inside the budget after.
    "slow for three hours": Case(
        LATENCY, LATENCY_SLI, _histogram([0.03] * 180 + [0.002] * 300), range(0, HOURS_8, 5)
    ),
    # Per version: v3 fails at 5 %, v1 is healthy; only v3 alerts.
    "one failing version": Case(
        PER_VERSION,
        PER_VERSION_SLI,
        _traffic([0.0] * HOURS_8, REVIEWS, destination_version="v1")
        + _traffic([0.05] * HOURS_8, REVIEWS, destination_version="v3"),
        range(0, HOURS_8, 5),
        sloth_group_by="destination_version",
    ),
}


def _sloth_spec(case: Case) -> dict[str, Any]:
    slo = case.slo
    return {
        "version": "prometheus/v1",
        "service": slo.service,
        "slos": [
            {
                "name": slo.name,
                "objective": slo.objective,
                "sli": {"events": case.sloth_sli},
                "alerting": {
                    "name": "SlothBurnRate",
                    "page_alert": {"labels": {"severity": "page"}},
                    "ticket_alert": {"labels": {"severity": "ticket"}},
                },
            }
        ],
    }


def _sloth_rules(case: Case, workdir: Path) -> Path:
    spec, rules = workdir / "sloth-slo.yaml", workdir / "sloth-rules.yaml"
    spec.write_text(yaml.safe_dump(_sloth_spec(case), sort_keys=False))
    done = subprocess.run(
        [str(toolchain_bin() / "sloth"), "generate", "--no-log", "-i", str(spec), "-o", str(rules)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return rules


FAILURE = re.compile(r"alertname: (?P<alert>\S+), time: (?P<time>[^,]+),")
LABELS = re.compile(r"Labels:\{(?P<labels>[^}]*)\}")


def fired(
    rules: Path, alertnames: list[str], case: Case, workdir: Path
) -> set[tuple[str, str, str]]:
    """(evaluation time, severity, group) of every alert ``rules`` raise on the case's
    series at the grid's times: promtool is asked for silence everywhere, and reports
    each alert that fired instead."""
    # The groups in the file's order (recordings, then alerts): promtool's own order is
    # unspecified, and an alert read before the ratios of its own instant lags a minute.
    groups = [g["name"] for g in yaml.safe_load(rules.read_text())["groups"]]
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": case.interval,  # the rules run as often as samples arrive
        "group_eval_order": groups,
        "tests": [
            {
                "interval": case.interval,
                "input_series": case.series,
                "alert_rule_test": [
                    {"eval_time": f"{minute}m", "alertname": name, "exp_alerts": []}
                    for minute in case.grid
                    for name in alertnames
                ],
            }
        ],
    }
    test_file = workdir / f"{rules.stem}-test.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    done = subprocess.run(
        [promtool(), "test", "rules", test_file.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode == 0:
        return set()
    assert "FAILED:" in output and "got:[" in output, output  # a failure of another kind
    found: set[tuple[str, str, str]] = set()
    time = ""
    for line in output.splitlines():
        if (failure := FAILURE.search(line)) is not None:
            time = failure["time"]
        elif (labels := LABELS.search(line)) is not None:
            values = dict(re.findall(r'(\w+)="([^"]*)"', labels["labels"]))
            found.add((time, values["severity"], values.get("destination_version", "")))
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_meshstack_and_sloth_alert_at_the_same_times(name: str, tmp_path: Path) -> None:
    require_toolchain("sloth")
    case = CASES[name]
    ours = tmp_path / "meshstack-rules.yaml"
    ours.write_text(yaml.safe_dump(rule_groups([case.slo]), sort_keys=False))
    our_alerts = [
        rule["alert"]
        for group in rule_groups([case.slo])["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    meshstack = fired(ours, our_alerts, case, tmp_path)
    sloth = fired(_sloth_rules(case, tmp_path), ["SlothBurnRate"], case, tmp_path)
    assert meshstack == sloth, (
        f"meshstack only: {sorted(meshstack - sloth)}\nSloth only: {sorted(sloth - meshstack)}"
    )
    assert bool(meshstack) is case.alerts, sorted(meshstack)
    if case.sloth_group_by:
        assert {group for _, _, group in meshstack} == {"v3"}
