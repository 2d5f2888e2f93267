"""The PromQL of a canary check: per version of the service, the requests, the 5xx among
them and the 99th-percentile duration over one interval.

Versions are told apart by ``destination_version`` (the pod's ``version`` label, which
the canary's subsets select), so the candidate and stable are measured by the same
queries side by side. Counts come back per version and the success rate is taken from
them, so a version without requests yields no series (decided in Python as "too little
traffic") rather than a NaN ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshstack.istio_metrics import (
    DURATION,
    REQUESTS,
    SERVER_ERROR,
    destination_matchers,
    selector,
)
from meshstack.spec.traffic import Canary


@dataclass(frozen=True)
class CheckQueries:
    """One check's three queries; each answers one sample per version."""

    requests: str
    errors: str
    p99_ms: str


def check_queries(canary: Canary, interval: str) -> CheckQueries:
    """The queries of a check of ``canary`` over the ``interval`` before the query time."""
    versions = f'destination_version=~"{canary.stable}|{canary.candidate}"'
    matchers = [*destination_matchers(canary.service, canary.namespace), versions]
    return CheckQueries(
        requests=f"sum by (destination_version) (increase({REQUESTS}{selector(matchers)}[{interval}]))",
        errors=(
            "sum by (destination_version) "
            f"(increase({REQUESTS}{selector([*matchers, SERVER_ERROR])}[{interval}]))"
        ),
        p99_ms=(
            "histogram_quantile(0.99, sum by (destination_version, le) "
            f"(rate({DURATION}_bucket{selector(matchers)}[{interval}])))"
        ),
    )


def service_known(canary: Canary) -> str:
    """Whether Prometheus holds any request of the service at all (any version, ever
    scraped within its lookback): without it, no answer means a wrong address or a
    Prometheus that does not scrape the mesh, not an idle candidate."""
    matchers = destination_matchers(canary.service, canary.namespace)
    return f"count({REQUESTS}{selector(matchers)})"
