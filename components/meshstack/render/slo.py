"""SLOs as Prometheus rules: the error ratio over every window the alerts need, the
multi-window multi-burn-rate page and ticket alerts, the budget left and the objective.

Every series carries ``slo_id`` (``<namespace>-<service>-<name>``), ``slo_service``,
``slo_namespace`` and, for a grouped SLO, the group's labels, so the windows of one SLO
(and one group) join one to one in the alert expressions.

Zero traffic is neither an error nor NaN: the ratio is ``errors / (total > 0)`` where
there is traffic and ``total * 0`` (a 0) where there is none, so an idle service records
0 and pages nobody; where the metric is absent altogether nothing is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from meshstack.istio_metrics import (
    DURATION,
    REQUESTS,
    SERVER_ERROR,
    destination_matchers,
    selector,
)
from meshstack.k8s import K8sObject, k8s_object
from meshstack.spec.mesh import MeshPolicy
from meshstack.spec.slo import (
    ROUTE_LABEL,
    ServiceLevelObjective,
    SloIndicator,
    SloPeriod,
    SloRulesAsPrometheusRules,
)

SHORT_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""Every window a burn-rate alert reads (each long window and its short confirmation)."""

PERIOD_HOURS = {SloPeriod.DAYS_30: 720, SloPeriod.DAYS_28: 672}


@dataclass(frozen=True)
class BurnRateAlert:
    """One clause of an alert: the budget share ``spent`` within ``long`` (confirmed over
    ``short``) that raises it. The burn rate is ``spent x period / long``: 2 % in 1 h of a
    30 d budget is 14.4 x the rate that would spend exactly the budget."""

    severity: str
    spent: float
    long: str
    long_hours: float
    short: str

    def factor(self, period: SloPeriod) -> float:
        return round(self.spent * PERIOD_HOURS[period] / self.long_hours, 6)


PAGE = (
    BurnRateAlert("page", 0.02, "1h", 1, "5m"),
    BurnRateAlert("page", 0.05, "6h", 6, "30m"),
)
TICKET = (
    BurnRateAlert("ticket", 0.10, "1d", 24, "2h"),
    BurnRateAlert("ticket", 0.10, "3d", 72, "6h"),
)
"""The SRE workbook's recommended pairs (chapter 5, "Alerting on SLOs", table 5-8)."""


def _labels(slo: ServiceLevelObjective) -> dict[str, str]:
    return {"slo_id": slo.id, "slo_service": slo.service, "slo_namespace": slo.namespace}


def _selector(slo: ServiceLevelObjective, *extra: str) -> str:
    matchers = destination_matchers(slo.service, slo.namespace, at_callers=slo.names_routes)
    if slo.excluded_codes:
        codes = "|".join(str(c) for c in sorted(set(slo.excluded_codes)))
        matchers.append(f'response_code!~"{codes}"')
    if slo.excluded_routes:
        # a regex of the names as literals, its backslashes escaped for a PromQL string
        routes = "|".join(re.escape(r) for r in sorted(set(slo.excluded_routes)))
        matchers.append(f'{ROUTE_LABEL}!~"{routes.replace(chr(92), chr(92) * 2)}"')
    return selector([*matchers, *extra])


def _sum(slo: ServiceLevelObjective, series: str) -> str:
    by = f" by ({', '.join(slo.group_by)})" if slo.group_by else ""
    return f"sum{by} ({series})"


def _le(threshold: float) -> str:
    """A bucket bound as Envoy writes the ``le`` label (``250``, ``0.5``)."""
    return f"{threshold:g}"


def error_ratio(slo: ServiceLevelObjective, window: str) -> str:
    """The share of bad requests over ``window``; 0 without traffic, never NaN."""
    if slo.indicator is SloIndicator.AVAILABILITY:
        total = _sum(slo, f"rate({REQUESTS}{_selector(slo)}[{window}])")
        server_errors = _selector(slo, SERVER_ERROR)
        bad = _sum(slo, f"rate({REQUESTS}{server_errors}[{window}])")
    else:
        assert slo.latency_threshold_ms is not None  # validated with the spec
        total = _sum(slo, f"rate({DURATION}_count{_selector(slo)}[{window}])")
        bucket = _selector(slo, f'le="{_le(slo.latency_threshold_ms)}"')
        within = _sum(slo, f"rate({DURATION}_bucket{bucket}[{window}])")
        bad = f"({total} - {within})"
    return f"({bad} / ({total} > 0)) or ({total} * 0)"


def _ratio_name(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _alert(slo: ServiceLevelObjective, clauses: Iterable[BurnRateAlert]) -> dict[str, Any]:
    selector = f'{{slo_id="{slo.id}"}}'
    budget = slo.error_budget
    parts = []
    severity = ""
    for clause in clauses:
        severity = clause.severity
        threshold = f"({clause.factor(slo.period)} * {budget})"
        parts.append(
            f"({_ratio_name(clause.long)}{selector} > {threshold} "
            f"and {_ratio_name(clause.short)}{selector} > {threshold})"
        )
    name = "".join(word.capitalize() for word in slo.name.split("-"))
    annotations = {
        **slo.alerting.annotations,
        "summary": (
            f"{slo.namespace}/{slo.service} is spending its {slo.period.value} error budget "
            f"of {slo.objective}% {slo.indicator.value} too fast ({severity})"
        ),
    }
    if slo.alerting.runbook_url:
        annotations["runbook_url"] = slo.alerting.runbook_url
    return {
        "alert": f"SLO{name}BurnRate{severity.capitalize()}",
        "expr": " or ".join(parts),
        "labels": {**slo.alerting.labels, **_labels(slo), "severity": severity},
        "annotations": annotations,
    }


RECORDING_RULES_FILE = "recording_rules.yml"
ALERTING_RULES_FILE = "alerting_rules.yml"
"""The rule files the Prometheus add-on's server loads (``/etc/config/<file>``, from its
ConfigMap): the prometheus-community chart's ``serverFiles`` and Istio's sample manifest,
which is rendered from that chart, both list them in ``rule_files``."""


def rule_files(slos: Iterable[ServiceLevelObjective]) -> dict[str, dict[str, Any]]:
    """The SLOs' groups as the add-on loads them: recording groups in one file, alerting
    groups in the other."""
    chosen = list(slos)
    return {
        RECORDING_RULES_FILE: {"groups": [_recording_group(slo) for slo in chosen]},
        ALERTING_RULES_FILE: {"groups": [g for slo in chosen if (g := _alerting_group(slo))]},
    }


def rule_groups(slos: Iterable[ServiceLevelObjective]) -> dict[str, Any]:
    """A Prometheus rule file (``groups:``) for ``slos``: one recording group and one
    alerting group per SLO."""
    return {"groups": [group for slo in slos for group in _groups(slo)]}


def _groups(slo: ServiceLevelObjective) -> list[dict[str, Any]]:
    """One SLO's recording group, then its alerting group if it asks for alerts."""
    alerting = _alerting_group(slo)
    return [_recording_group(slo), *([alerting] if alerting is not None else [])]


PROMETHEUS_OPERATOR = "monitoring.coreos.com/v1"


def prometheus_rules(policy: MeshPolicy) -> list[K8sObject]:
    """The SLOs as the Prometheus Operator loads them when the policy delivers them so:
    one ``PrometheusRule`` per SLO (``slo-<id>``), holding the same recording and
    alerting groups as the add-on's rule files; none otherwise."""
    delivery = policy.slo_rules
    if not isinstance(delivery, SloRulesAsPrometheusRules):
        return []
    objects = []
    for slo in policy.slos:
        objects.append(
            k8s_object(
                PROMETHEUS_OPERATOR,
                "PrometheusRule",
                f"slo-{slo.id}",
                delivery.namespace or slo.namespace,
                labels=delivery.labels,
                spec={"groups": _groups(slo)},
            )
        )
    return objects


def _recording_group(slo: ServiceLevelObjective) -> dict[str, Any]:
    labels = _labels(slo)
    this = f'{{slo_id="{slo.id}"}}'
    period = slo.period.value
    rules = [
        {"record": _ratio_name(window), "expr": error_ratio(slo, window), "labels": labels}
        for window in SHORT_WINDOWS
    ]
    rules += [
        {
            "record": _ratio_name(period),
            "expr": f"avg_over_time({_ratio_name('5m')}{this}[{period}])",
            "labels": labels,
        },
        {
            "record": "slo:error_budget:remaining",
            "expr": f"1 - {_ratio_name(period)}{this} / {slo.error_budget}",
            "labels": labels,
        },
        {
            "record": "slo:objective:ratio",
            "expr": f"vector({slo.objective / 100})",
            "labels": labels,
        },
    ]
    return {"name": f"slo-{slo.id}-recording", "rules": rules}


def _alerting_group(slo: ServiceLevelObjective) -> dict[str, Any] | None:
    """The page and ticket alerts the SLO asks for; ``None`` when it asks for neither."""
    chosen = [(slo.alerting.page, PAGE), (slo.alerting.ticket, TICKET)]
    alerts = [_alert(slo, clauses) for wanted, clauses in chosen if wanted]
    return {"name": f"slo-{slo.id}-alerts", "rules": alerts} if alerts else None
