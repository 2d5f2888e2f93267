"""``meshstack canary status``: every analysed canary of a stack, its checks measured by
Prometheus, the verdict and the numbers behind it, as text a person reads in a terminal
or a pull request."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from meshstack.canary.prometheus import PrometheusApi, PrometheusError, Sample
from meshstack.canary.queries import check_queries, service_known
from meshstack.canary.verdict import Check, Decision, VersionNumbers, decide
from meshstack.spec.base import duration_seconds
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.traffic import Canary


@dataclass(frozen=True)
class CanaryReport:
    canary: Canary
    checks: tuple[Check, ...]
    """Latest first."""
    decision: Decision

    @property
    def name(self) -> str:
        return f"{self.canary.namespace}/{self.canary.service}"


def analysed(spec: MeshSpec) -> list[Canary]:
    return [c for c in spec.policy.canaries if c.analysis is not None]


def _by_version(samples: Iterable[Sample]) -> dict[str, float]:
    return {s.labels.get("destination_version", ""): s.value for s in samples}


def measure(prometheus: PrometheusApi, canary: Canary, at: float) -> tuple[Check, ...]:
    """The canary's checks ending at ``at`` and at each interval before it, as many as
    a rollback needs in a row (latest first)."""
    analysis = canary.analysis
    assert analysis is not None
    if not prometheus.query(service_known(canary), at):
        raise PrometheusError(
            f"Prometheus at {prometheus.url} knows no istio_requests_total series for "
            f'{canary.namespace}/{canary.service} (reporter="destination"): does it scrape '
            "the mesh's proxies, and is this the stack's cluster?"
        )
    queries = check_queries(canary, analysis.interval)
    step = duration_seconds(analysis.interval)
    checks = []
    for n in range(analysis.failed_checks):
        when = at - n * step
        requests = _by_version(prometheus.query(queries.requests, when))
        errors = _by_version(prometheus.query(queries.errors, when))
        p99 = _by_version(prometheus.query(queries.p99_ms, when))
        stable, candidate = (
            VersionNumbers(requests.get(v, 0.0), errors.get(v, 0.0), p99.get(v))
            for v in (canary.stable, canary.candidate)
        )
        checks.append(Check(when, stable, candidate))
    return tuple(checks)


def reports(
    spec: MeshSpec, prometheus: PrometheusApi, at: float | None = None
) -> list[CanaryReport]:
    """Each analysed canary's checks and verdict (``at``: now by default)."""
    when = time.time() if at is None else at
    found = []
    for canary in analysed(spec):
        checks = measure(prometheus, canary, when)
        found.append(CanaryReport(canary, checks, decide(canary, checks)))
    return found


def _row(label: str, numbers: VersionNumbers) -> str:
    rate = numbers.success_rate
    success = "n/a" if rate is None else f"{rate:.2f}%"
    p99 = "n/a" if numbers.p99_ms is None else f"{numbers.p99_ms:.0f} ms"
    return f"  {label:<16} {numbers.requests:>10.0f} {success:>9} {p99:>9}"


def to_text(found: Iterable[CanaryReport]) -> str:
    lines = []
    for report in found:
        canary, latest = report.canary, report.checks[0]
        analysis = canary.analysis
        assert analysis is not None
        plan = " → ".join(f"{s}%" for s in analysis.steps)
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(latest.at))
        lines += [
            f"{report.name}: weight {canary.weight}% (steps {plan}), last {analysis.interval} "
            f"to {moment}",
            f"  {'version':<16} {'requests':>10} {'success':>9} {'p99':>9}",
            _row(f"{canary.stable} (stable)", latest.stable),
            _row(f"{canary.candidate} (candidate)", latest.candidate),
        ]
        decision = report.decision
        target = "" if decision.next_weight is None else f" → {decision.next_weight}%"
        lines += [f"  verdict: {decision.verdict.value}{target}: {decision.reason}", ""]
    return "\n".join(lines)
