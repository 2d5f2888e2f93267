"""The policy pack, served by the pulumi-policy SDK, judging what real programs plan.

The pack runs as its own process and is called over gRPC exactly as the
engine calls it during ``pulumi preview --policy-pack policy``: ``Analyze``
for each registered resource, ``AnalyzeStack`` for all of them. The programs
run under the SDK's mock engine in their own processes (``policy_engine``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from meshstack.guardrails import RESOURCE_GUARDRAILS, STACK_GUARDRAILS
from policy_engine import (
    PROJECT,
    PolicyPackClient,
    record_program,
    running_policy_pack,
    stack_config_text,
)

LOOSENED_PROD = Path(__file__).resolve().parent / "programs" / "loosened_prod.py"
ENGINE_ONLY = ("awaited-in-production",)
"""Guardrails on what a resource transform adds (``skipAwait``'s annotation): the SDK's
mock engine never runs transforms, so the real CLI judges these
(``test_engine_workflow``, where every guardrail fires)."""


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackClient]:
    with running_policy_pack() as client:
        yield client


def test_the_pack_declares_every_guardrail(pack: PolicyPackClient) -> None:
    expected = [g.name for g in RESOURCE_GUARDRAILS] + [g.name for g in STACK_GUARDRAILS]
    assert pack.policy_names() == expected


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_shipped_stack_passes_the_guardrails(pack: PolicyPackClient, stack: str) -> None:
    pack.configure_stack(stack, stack_config_text(stack))
    planned = record_program(PROJECT / "__main__.py", stack)
    assert len(planned) > 50  # the whole program registered, not an early failure
    assert pack.preview(planned) == []


def test_a_loosened_prod_program_is_rejected_by_every_guardrail(pack: PolicyPackClient) -> None:
    pack.configure_stack("prod", stack_config_text("prod"))
    violations = pack.preview(record_program(LOOSENED_PROD, "prod"))
    assert all(v.mandatory for v in violations)
    by_policy = {v.policy: v.message.splitlines()[-1] for v in violations}
    assert sorted(by_policy) == sorted(
        g.name for g in (*RESOURCE_GUARDRAILS, *STACK_GUARDRAILS) if g.name not in ENGINE_ONLY
    )
    assert len(violations) == len(by_policy)  # one finding per loosening, no noise
    assert by_policy["strict-mtls-in-production"].startswith(
        "PeerAuthentication istio-system/default: spec.mtls.mode is PERMISSIVE"
    )
    assert "productpage-v1:latest' has latest" in by_policy["no-floating-images"]
    assert by_policy["route-weights-sum-to-100"].startswith(
        "VirtualService bookinfo/ratings-split: spec.http[split].route: weights sum to 110"
    )
    assert "bookinfo/debug-open-details" in by_policy["no-allow-all-authorization"]
    assert by_policy["protected-istio-crds"].startswith("chart 'base' holds Istio's CRDs")
    assert by_policy["request-rules-on-a-waypoint"].startswith(
        "AuthorizationPolicy reports/reports-admin: namespace reports is ambient"
    )
    assert by_policy["no-fault-injection-in-production"].startswith(
        "VirtualService bookinfo/reviews: spec.http[split].fault injects delays or errors"
    )
    assert by_policy["fail-closed-validation-in-production"].startswith(
        "chart 'base': values.base.validationFailurePolicy is Ignore"
    )


def test_production_is_the_stacks_own_setting(pack: PolicyPackClient) -> None:
    """The pack reads ``meshstack:production`` from the stack config the engine sends, the
    setting the program protects namespaces by; a stack's name decides nothing."""
    planned = record_program(LOOSENED_PROD, "prod")
    correctness_only = [
        "no-allow-all-authorization",
        "no-floating-images",
        "request-rules-on-a-waypoint",
        "route-weights-sum-to-100",
    ]
    config = stack_config_text("prod")
    assert config["meshstack:production"] == "true"
    not_production = {k: v for k, v in config.items() if k != "meshstack:production"}
    pack.configure_stack("prod", not_production)
    assert sorted({v.policy for v in pack.preview(planned)}) == correctness_only
    pack.configure_stack("prod-eu", {**not_production, "meshstack:production": "true"})
    production = sorted({v.policy for v in pack.preview(planned)})
    assert production == sorted(
        g.name for g in (*RESOURCE_GUARDRAILS, *STACK_GUARDRAILS) if g.name not in ENGINE_ONLY
    )
