"""Service level objectives, measured from the metrics every Istio proxy already emits.

An SLO says what share of a service's requests must be good over a period: *available*
(not a 5xx; some codes may be left out of the count) or *fast* (answered within one of
the latency histogram's bucket bounds). The error budget is the rest (99.9 % → 0.1 %).
Alerts follow the Google SRE workbook's multi-window, multi-burn-rate method: a page when
the budget burns fast enough to spend 2 % of it in an hour or 5 % in six, a ticket for
10 % in a day or in three — each confirmed by a short window so an alert stops soon after
the burn does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from meshstack.spec.base import DnsLabel, FieldCheck, HttpStatus, NonEmptyStr, Spec

ISTIO_LATENCY_BUCKETS_MS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip
"""The bucket bounds (``le``, milliseconds) of ``istio_request_duration_milliseconds``:
Envoy's default histogram buckets, which Istio's stats use. A latency objective can only
be measured at one of them (a request's exact duration is not recorded)."""

ROUTE_LABEL = "route_name"
"""The label meshstack adds to Istio's request metrics at the calling proxy, from Envoy's
``xds.route_name`` (a Telemetry tag override), for an SLO kept per route or leaving
routes out: Istio's standard labels name no route."""

GROUPABLE_LABELS = ("destination_version", "request_protocol", "source_workload", ROUTE_LABEL)
"""Labels of ``istio_requests_total`` an SLO may be kept per value of (a version of a
canary, say; a route): each group has its own error ratio and alerts."""

Objective = Annotated[
    float,
    FieldCheck(
        "a percentage of good requests above 0 and below 100, such as 99.9",
        lambda v: 0 < v < 100,
    ),
]


class SloIndicator(StrEnum):
    AVAILABILITY = "availability"
    """Good: the response is not a 5xx (``response_code`` 500 to 599)."""
    LATENCY = "latency"
    """Good: answered within ``latency_threshold_ms`` (a histogram bucket bound)."""


class SloPeriod(StrEnum):
    DAYS_30 = "30d"
    DAYS_28 = "28d"


class SloAlerting(Spec):
    """Whether and how the burn-rate alerts are raised."""

    page: bool = True
    """The fast-burn alert (2 % of the budget in 1 h, 5 % in 6 h): someone acts now."""
    ticket: bool = True
    """The slow-burn alert (10 % of the budget in 1 d or in 3 d): someone acts this week."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Added to both alerts (a team, a routing key); ``severity`` is set by meshstack."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Added to both alerts' annotations (a dashboard link, say); ``summary`` and
    ``runbook_url`` are meshstack's."""
    runbook_url: str | None = None


class ServiceLevelObjective(Spec):
    """One objective for one service of the mesh, judged at the callee
    (``reporter="destination"``) — or, for an SLO that names routes, at the callers
    (``reporter="source"``), since only the proxy that chose a route knows its name."""

    path_key: ClassVar[str] = "id"
    """Names repeat across services (each has its ``availability``): the id does not."""

    name: DnsLabel
    service: NonEmptyStr
    namespace: DnsLabel
    indicator: SloIndicator = SloIndicator.AVAILABILITY
    objective: Objective = 99.9
    period: SloPeriod = SloPeriod.DAYS_30
    latency_threshold_ms: float | None = None
    """For a latency SLO: the bound a good request stays within (one of
    :data:`ISTIO_LATENCY_BUCKETS_MS`)."""
    excluded_codes: tuple[HttpStatus, ...] = ()
    """Response codes counted neither good nor bad (a 429 the client caused, say)."""
    excluded_routes: tuple[NonEmptyStr, ...] = ()
    """Proxy routes (:mod:`meshstack.route_names`: ``<route>`` or ``<route>.<match>``)
    whose requests count neither good nor bad (a health check, a slow export)."""
    group_by: tuple[
        Literal["destination_version", "request_protocol", "source_workload", "route_name"], ...
    ] = ()
    alerting: SloAlerting = Field(default_factory=SloAlerting)

    @property
    def names_routes(self) -> bool:
        """Kept per route or leaving routes out: measured where routes have names."""
        return ROUTE_LABEL in self.group_by or bool(self.excluded_routes)

    @property
    def id(self) -> str:
        """``<namespace>-<service>-<name>``: the SLO's field path label and ``slo_id`` label."""
        return f"{self.namespace}-{self.service}-{self.name}"

    @property
    def error_budget(self) -> float:
        """The share of requests that may be bad (99.9 % → 0.001)."""
        return round(1 - self.objective / 100, 12)


class SloRulesInAddon(Spec):
    """The rules go into the Prometheus add-on's rule files (``serverFiles``), which its
    server loads: for clusters where meshstack runs Prometheus."""

    kind: Literal["addon"] = "addon"


class SloRulesAsPrometheusRules(Spec):
    """The rules go into ``monitoring.coreos.com/v1`` ``PrometheusRule`` objects, one per
    SLO: for clusters whose Prometheus the Prometheus Operator runs (the Operator owns
    their CRD, so the cluster must have it before ``pulumi up``)."""

    kind: Literal["prometheus-operator"] = "prometheus-operator"
    namespace: DnsLabel | None = None
    """Where the objects go; ``None``: each SLO's own namespace. A Prometheus loads them
    only from namespaces its ``ruleNamespaceSelector`` selects."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels the Prometheus's ``ruleSelector`` matches (kube-prometheus-stack selects
    ``release: <its release name>`` by default): without them nobody evaluates the rules."""


SloRuleDelivery = Annotated[
    SloRulesInAddon | SloRulesAsPrometheusRules, Field(discriminator="kind")
]
"""Who evaluates the SLOs' rules: the add-on's Prometheus, or the Operator's."""
