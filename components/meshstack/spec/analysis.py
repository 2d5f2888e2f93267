"""A canary's analysis: the checks its candidate must pass at each step before it gets
more traffic, measured from the same Istio metrics as the SLOs.

The practice it encodes (Flagger's ``analysis``, the "1 % → 10 % → 50 % → 100 %" rollout):
at each step the candidate serves its weight for at least one ``interval``; a check over
that interval passes when the candidate answered enough requests, few enough of them
5xx, fast enough at the 99th percentile; ``failed_checks`` failed checks in a row roll it
back to 0. ``meshstack canary status`` evaluates the checks against Prometheus and
``meshstack canary advance`` writes the next weight into the stack's config, so each step
is a reviewed change and an ordinary ``pulumi up``.
"""

from __future__ import annotations

from typing import Annotated

from meshstack.spec.base import Duration, FieldCheck, PositiveInt, Spec

StepWeight = Annotated[
    int,
    FieldCheck(
        "a weight from 1 to 100 (percent of requests to the candidate)", lambda v: 1 <= v <= 100
    ),
]
SuccessRate = Annotated[
    float,
    FieldCheck(
        "a percentage of non-5xx responses above 0 and at most 100, such as 99",
        lambda v: 0 < v <= 100,
    ),
]
Milliseconds = Annotated[float, FieldCheck("a number of milliseconds above 0", lambda v: v > 0)]


class CanaryAnalysis(Spec):
    """When the candidate may take the next step, and when it must be rolled back."""

    steps: tuple[StepWeight, ...] = (1, 10, 50, 100)
    """The weights the canary moves through, in increasing order; its ``weight`` is 0 (not
    started or rolled back) or one of them."""
    interval: Duration = "5m"
    """The window of one check, and the least time the candidate serves a step."""
    min_requests: PositiveInt = 100
    """Fewer candidate requests than this in an interval decide nothing: hold."""
    min_success_rate: SuccessRate = 99.0
    """Percent of the candidate's requests that must not be 5xx."""
    max_p99_ms: Milliseconds = 500.0
    """The candidate's 99th-percentile request duration may not exceed this."""
    failed_checks: PositiveInt = 2
    """This many failed checks in a row (the latest and the intervals before it) roll
    the canary back."""
