"""Observability add-ons: Prometheus, Grafana, Kiali and Jaeger from their official charts.

Each is optional per stack. Versions are pinned to the releases Istio's own
add-on manifests are generated from (Jaeger: the newest chart of its v2 line).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from meshstack.spec.base import DnsLabel, NonEmptyStr, PositiveInt, Spec
from meshstack.spec.workloads import Resources


class AddonChart(Spec):
    """Where an add-on's chart comes from; ``repository`` may be an ``oci://`` URL
    or a local directory (then ``version`` is what the directory holds)."""

    name: NonEmptyStr
    version: NonEmptyStr
    repository: NonEmptyStr


PROMETHEUS_CHART = AddonChart(
    name="prometheus",
    version="28.13.0",
    repository="https://prometheus-community.github.io/helm-charts",
)
GRAFANA_CHART = AddonChart(
    name="grafana", version="9.2.2", repository="https://grafana.github.io/helm-charts"
)
KIALI_CHART = AddonChart(
    name="kiali-server", version="2.27.0", repository="https://kiali.org/helm-charts"
)
JAEGER_COLLECTOR_SERVICE = "jaeger-collector"
"""The Service the Jaeger add-on receives spans on (OTLP, port 4317), in the add-ons'
namespace: what the default :class:`~meshstack.spec.install.TracingProvider` names."""

JAEGER_CHART = AddonChart(
    name="jaeger", version="4.4.6", repository="https://jaegertracing.github.io/helm-charts"
)


class Prometheus(Spec):
    """Scrapes the proxies' and istiod's metrics (what Kiali and Grafana read)."""

    chart: AddonChart = PROMETHEUS_CHART
    retention: NonEmptyStr = "6h"
    scrape_interval: NonEmptyStr = "15s"
    resources: Resources | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class Grafana(Spec):
    """Dashboards over Prometheus. The admin password is generated
    (``pulumi_random.RandomPassword``), stored in a Secret, and only ever exported
    as a Pulumi secret; it never appears in chart values."""

    chart: AddonChart = GRAFANA_CHART
    anonymous_access: bool = False
    """Let anyone who reaches Grafana look without logging in (demo clusters only)."""
    password_length: PositiveInt = 24
    values: dict[str, Any] = Field(default_factory=dict)


class KialiAuth(StrEnum):
    ANONYMOUS = "anonymous"
    TOKEN = "token"
    OPENID = "openid"


class Kiali(Spec):
    """The mesh console; pointed at Prometheus, Grafana and Jaeger when those are installed."""

    chart: AddonChart = KIALI_CHART
    auth: KialiAuth = KialiAuth.TOKEN
    values: dict[str, Any] = Field(default_factory=dict)


class Jaeger(Spec):
    """Trace storage and UI; the mesh config's tracing provider sends spans here."""

    chart: AddonChart = JAEGER_CHART
    max_traces: PositiveInt = 50_000
    values: dict[str, Any] = Field(default_factory=dict)


class AddonCharts(Spec):
    """Each add-on from its own Helm chart (``Prometheus.chart`` and so on), with the
    typed settings applied: what a real cluster runs."""

    kind: Literal["charts"] = "charts"


class IstioSampleManifests(Spec):
    """Istio's own demo manifests for the add-ons (``samples/addons`` of an Istio release
    or of the ``istio.io/istio`` module, one ``<addon>.yaml`` each), applied as they are.

    Why it exists: the add-on charts live only in their remote repositories, so an
    offline machine (``make demo``, the end-to-end tests) has no other source. The
    manifests are Istio's fixed demo configuration in ``istio-system``: typed settings
    (anonymous access, Kiali's auth strategy, retention, chart values) are not applied,
    and the deployment says so."""

    kind: Literal["istio-samples"] = "istio-samples"
    path: NonEmptyStr


AddonSource = Annotated[AddonCharts | IstioSampleManifests, Field(discriminator="kind")]

SAMPLE_MANIFESTS_NAMESPACE = "istio-system"
"""The namespace Istio's sample add-on manifests are written for."""


class Addons(Spec):
    """Which add-ons a stack runs, in ``namespace`` (Istio's own namespace by default,
    where Istio's dashboards and Kiali look for them)."""

    namespace: DnsLabel = "istio-system"
    source: AddonSource = AddonCharts()
    prometheus: Prometheus | None = None
    grafana: Grafana | None = None
    kiali: Kiali | None = None
    jaeger: Jaeger | None = None

    @property
    def enabled(self) -> tuple[str, ...]:
        """Names of the add-ons this stack installs, in install order."""
        pairs = (
            ("prometheus", self.prometheus),
            ("jaeger", self.jaeger),
            ("grafana", self.grafana),
            ("kiali", self.kiali),
        )
        return tuple(name for name, addon in pairs if addon is not None)
