"""The verdict of a canary's analysis from its checks' numbers: promote, hold or roll back,
with the numbers that decided it. Pure: the numbers come from Prometheus elsewhere.

Order of the questions, each answered from the latest check first:

1. weight 0: nothing to judge (not started, or rolled back): *idle*;
2. fewer candidate requests than ``min_requests``: *hold* (too little traffic);
3. the candidate took under half its weight's share of requests: *hold* — the step began
   less than an interval ago (or ``pulumi up`` has not applied it), so the interval still
   mostly measures the previous step;
4. ``failed_checks`` failed checks in a row, the latest among them: *roll back*;
5. the latest check failed, fewer in a row: *hold*, saying how many more would roll back;
6. otherwise *promote* to the next step, or *complete* at the plan's last step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from meshstack.spec.analysis import CanaryAnalysis
from meshstack.spec.traffic import Canary


class CanaryVerdict(StrEnum):
    PROMOTE = "promote"
    HOLD = "hold"
    ROLLBACK = "roll back"
    IDLE = "idle"
    COMPLETE = "complete"


@dataclass(frozen=True)
class VersionNumbers:
    """One version's requests over one interval."""

    requests: float
    errors: float
    p99_ms: float | None
    """``None`` without requests (no quantile of nothing)."""

    @property
    def success_rate(self) -> float | None:
        """Percent of requests that were not 5xx; ``None`` without requests."""
        if self.requests <= 0:
            return None
        return 100.0 * (1 - min(self.errors, self.requests) / self.requests)


@dataclass(frozen=True)
class Check:
    """The numbers of one interval, ending at ``at`` (Unix seconds)."""

    at: float
    stable: VersionNumbers
    candidate: VersionNumbers

    def failures(self, analysis: CanaryAnalysis) -> list[str]:
        """Why the candidate fails this check (empty: it passes); a check with too
        little traffic neither passes nor fails, see :meth:`enough_traffic`."""
        found = []
        rate = self.candidate.success_rate
        if rate is not None and rate < analysis.min_success_rate:
            found.append(f"success {rate:.2f}% < {analysis.min_success_rate:g}%")
        p99 = self.candidate.p99_ms
        if p99 is not None and p99 > analysis.max_p99_ms:
            found.append(f"p99 {p99:.0f} ms > {analysis.max_p99_ms:g} ms")
        return found

    def enough_traffic(self, analysis: CanaryAnalysis) -> bool:
        return self.candidate.requests >= analysis.min_requests


@dataclass(frozen=True)
class Decision:
    verdict: CanaryVerdict
    reason: str
    next_weight: int | None
    """The weight ``advance`` writes; ``None`` leaves the weight alone."""


def next_step(analysis: CanaryAnalysis, weight: int) -> int | None:
    """The step after ``weight``; ``None`` at (or past) the last step."""
    return next((s for s in analysis.steps if s > weight), None)


def decide(canary: Canary, checks: Sequence[Check]) -> Decision:
    """The verdict for ``canary`` from its ``checks``, latest first."""
    analysis = canary.analysis
    assert analysis is not None and checks  # only canaries with an analysis are judged
    if canary.weight == 0:
        return Decision(
            CanaryVerdict.IDLE,
            f"weight 0 (not started, or rolled back); `advance --start` sets {analysis.steps[0]}%",
            None,
        )
    latest = checks[0]
    if not latest.enough_traffic(analysis):
        return Decision(
            CanaryVerdict.HOLD,
            f"too little traffic: {latest.candidate.requests:.0f} candidate requests in "
            f"{analysis.interval}, fewer than {analysis.min_requests}",
            None,
        )
    if latest.candidate.p99_ms is None:
        return Decision(
            CanaryVerdict.HOLD,
            "the candidate has requests but no request-duration histogram (p99 unknown): "
            "check that Prometheus keeps istio_request_duration_milliseconds_bucket",
            None,
        )
    total = latest.candidate.requests + latest.stable.requests
    share = 100.0 * latest.candidate.requests / total
    if share < canary.weight / 2:
        return Decision(
            CanaryVerdict.HOLD,
            f"the step is not in effect yet: the candidate took {share:.1f}% of requests in "
            f"the last {analysis.interval} for a weight of {canary.weight}% (applied less than "
            "an interval ago, or not yet by `pulumi up`)",
            None,
        )
    in_a_row = 0
    for check in checks:
        if not check.enough_traffic(analysis) or not check.failures(analysis):
            break
        in_a_row += 1
    failures = "; ".join(latest.failures(analysis))
    if in_a_row >= analysis.failed_checks:
        return Decision(
            CanaryVerdict.ROLLBACK,
            f"{in_a_row} failed checks in a row (rollback at {analysis.failed_checks}): {failures}",
            0,
        )
    if in_a_row:
        return Decision(
            CanaryVerdict.HOLD,
            f"failed {in_a_row} check(s) in a row, rollback at {analysis.failed_checks}: {failures}",
            None,
        )
    passed = (
        f"success {latest.candidate.success_rate:.2f}% ≥ {analysis.min_success_rate:g}%, "
        f"p99 {_ms(latest.candidate.p99_ms)} ≤ {analysis.max_p99_ms:g} ms, "
        f"{latest.candidate.requests:.0f} requests ≥ {analysis.min_requests}"
    )
    step = next_step(analysis, canary.weight)
    if step is None:
        return Decision(
            CanaryVerdict.COMPLETE,
            f"{passed}; the last step ({canary.weight}%) holds: make {canary.candidate} the "
            "stable version in the stack to finish",
            None,
        )
    return Decision(CanaryVerdict.PROMOTE, f"{passed}", step)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"
