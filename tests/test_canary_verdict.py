"""The canary analysis's verdict from its checks' numbers, and the weight's one-line edit of
``Pulumi.<stack>.yaml``: the edge cases the real-Prometheus scenarios
(``test_canary_prometheus.py``) do not reach, each judged by its own rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from meshstack.canary.verdict import CanaryVerdict, Check, VersionNumbers, decide, next_step
from meshstack.canary.weights_file import WeightWriteError, write_weight
from meshstack.spec import Canary, CanaryAnalysis

ANALYSIS = CanaryAnalysis(
    steps=(1, 10, 50, 100), min_requests=100, min_success_rate=99, max_p99_ms=500, failed_checks=2
)


def canary(weight: int) -> Canary:
    return Canary(service="reviews", namespace="bookinfo", weight=weight, analysis=ANALYSIS)


def check(
    candidate: float = 1000,
    errors: float = 0,
    p99: float | None = 100,
    stable: float = 9000,
    at: float = 0,
) -> Check:
    """One interval: ``candidate`` requests to the candidate (``errors`` of them 5xx),
    ``stable`` to the stable version."""
    return Check(
        at=at,
        stable=VersionNumbers(requests=stable, errors=0, p99_ms=80),
        candidate=VersionNumbers(requests=candidate, errors=errors, p99_ms=p99),
    )


FAILING = check(errors=50)  # 95 % success
SLOW = check(p99=900)


@pytest.mark.parametrize(
    ("weight", "checks", "verdict", "next_weight", "reason"),
    [
        (0, [check()], CanaryVerdict.IDLE, None, "weight 0"),
        (10, [check(candidate=99)], CanaryVerdict.HOLD, None, "too little traffic: 99"),
        (10, [check(p99=None)], CanaryVerdict.HOLD, None, "no request-duration histogram"),
        # 1 % of requests for a weight of 10 %: the interval still measures the step before.
        (10, [check(candidate=100, stable=9900)], CanaryVerdict.HOLD, None, "not in effect"),
        (10, [check()], CanaryVerdict.PROMOTE, 50, "success 100.00% ≥ 99%"),
        (50, [check(candidate=5000, stable=5000)], CanaryVerdict.PROMOTE, 100, "p99 100 ms"),
        (100, [check(candidate=10000, stable=0)], CanaryVerdict.COMPLETE, None, "last step"),
        (10, [FAILING], CanaryVerdict.HOLD, None, "failed 1 check(s) in a row, rollback at 2"),
        (10, [FAILING, SLOW], CanaryVerdict.ROLLBACK, 0, "2 failed checks in a row"),
        (10, [SLOW, SLOW, SLOW], CanaryVerdict.ROLLBACK, 0, "p99 900 ms > 500 ms"),
        # A passing check or one with too little traffic between failures breaks the run.
        (10, [FAILING, check(), FAILING], CanaryVerdict.HOLD, None, "failed 1 check(s)"),
        (10, [FAILING, check(candidate=10), FAILING], CanaryVerdict.HOLD, None, "failed 1"),
    ],
)
def test_the_verdict_follows_its_rules_in_order(
    weight: int,
    checks: list[Check],
    verdict: CanaryVerdict,
    next_weight: int | None,
    reason: str,
) -> None:
    decision = decide(canary(weight), checks)
    assert (decision.verdict, decision.next_weight) == (verdict, next_weight), decision.reason
    assert reason in decision.reason


def test_a_success_rate_never_goes_below_zero_nor_exists_without_requests() -> None:
    assert VersionNumbers(requests=10, errors=15, p99_ms=1).success_rate == 0.0
    assert VersionNumbers(requests=0, errors=0, p99_ms=None).success_rate is None


def test_the_next_step_is_the_first_above_the_weight() -> None:
    assert [next_step(ANALYSIS, w) for w in (0, 1, 5, 10, 50, 100)] == [1, 10, 10, 50, 100, None]


PROJECT_FILE = "name: bookinfo-mesh\nruntime: python\n"


def project(tmp_path: Path, stack_file: str | None) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(PROJECT_FILE)
    if stack_file is not None:
        (tmp_path / "Pulumi.prod.yaml").write_text(stack_file)
    return tmp_path


def weights(path: Path) -> object:
    return yaml.safe_load(path.read_text())["config"]["meshstack:canaryWeights"]


@pytest.mark.parametrize(
    ("before", "bare", "expected"),
    [
        (None, True, {"reviews": 10}),
        ("config:\n  meshstack:replicas:\n    productpage: 2\n", True, {"reviews": 10}),
        (
            "config:\n  meshstack:canaryWeights:\n    ratings: 5\n",
            True,
            {"ratings": 5, "reviews": 10},
        ),
        (
            "config:\n  meshstack:canaryWeights:\n    bookinfo/reviews: 1  # the step\n",
            True,
            {"bookinfo/reviews": 10},
        ),
        ("encryptionsalt: abc\n", False, {"bookinfo/reviews": 10}),
    ],
    ids=["no file", "no block", "another canary", "namespaced key kept", "no config"],
)
def test_the_weight_lands_where_the_program_reads_it(
    tmp_path: Path, before: str | None, bare: bool, expected: dict[str, int]
) -> None:
    root = project(tmp_path, before)
    written = write_weight(root, "prod", canary(1), 10, bare_name=bare)
    assert weights(written) == expected
    if before and "# the step" in before:
        assert "bookinfo/reviews: 10  # the step" in written.read_text()
    if before and "replicas" in before:
        assert yaml.safe_load(written.read_text())["config"]["meshstack:replicas"] == {
            "productpage": 2
        }


def test_a_file_it_cannot_edit_safely_is_left_as_it_was(tmp_path: Path) -> None:
    flow = "config:\n  meshstack:canaryWeights: {reviews: 1}\n"
    root = project(tmp_path, flow)
    with pytest.raises(WeightWriteError, match="left it unchanged: run `pulumi config set"):
        write_weight(root, "prod", canary(1), 10, bare_name=True)
    assert (root / "Pulumi.prod.yaml").read_text() == flow
