"""The resources a stack's program will register, as the guardrails see them, without an engine.

``meshstack validate`` runs the policy pack's own rules on this plan for the stacks the
guardrails treat as production, so a floating image tag or an unprotected CRD chart is
reported before anyone runs a preview. The plan holds what the components register: each
rendered object under its Pulumi type, and each Helm release as a helm v4 ``Chart`` with
the inputs and ``protect`` the components give it.
"""

from __future__ import annotations

from typing import Any

from meshstack.guardrails.catalog import RESOURCE_GUARDRAILS, STACK_GUARDRAILS
from meshstack.guardrails.model import GuardrailSettings, PlannedResource
from meshstack.k8s import type_token, without_waiting
from meshstack.render import render, stack_releases
from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"


def _urn(stack: str, resource_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::meshstack::{resource_type}::{name}"


def _awaited(obj: dict[str, Any], skip_await: bool) -> dict[str, Any]:
    return {**obj, "metadata": without_waiting(obj.get("metadata") or {})} if skip_await else obj


def planned_resources(
    spec: MeshSpec, stack: str, *, skip_await: bool = False
) -> list[PlannedResource]:
    """What the program registers for ``spec``; ``skip_await``: as ``meshstack:skipAwait``
    annotates it."""
    planned = []
    for obj in render(spec):
        token = type_token(obj)
        urn = _urn(stack, token, obj["metadata"]["name"])
        planned.append(PlannedResource(token, _awaited(dict(obj), skip_await), urn))
    for release in stack_releases(spec):
        props: dict[str, object] = {
            "chart": release.chart.chart,
            "version": release.chart.version,
            "name": release.name,
            "namespace": release.namespace,
            "values": release.values,
        }
        if release.chart.repository:
            props["repositoryOpts"] = {"repo": release.chart.repository}
        planned.append(
            PlannedResource(
                CHART_TYPE, props, _urn(stack, CHART_TYPE, release.name), release.protect
            )
        )
    return planned


def guardrail_problems(
    spec: MeshSpec,
    stack: str,
    settings: GuardrailSettings | None = None,
    *,
    skip_await: bool = False,
) -> list[Problem]:
    """Every guardrail violation of the plan; none for a stack that is not production."""
    settings = settings or GuardrailSettings()
    if not settings.production:
        return []
    planned = planned_resources(spec, stack, skip_await=skip_await)
    problems = [
        Problem(f"guardrail {guardrail.name}", message)
        for resource in planned
        for guardrail in RESOURCE_GUARDRAILS
        for message in guardrail.check(resource, settings)
    ]
    problems += [
        Problem(f"guardrail {guardrail.name}", violation.message)
        for guardrail in STACK_GUARDRAILS
        for violation in guardrail.check(planned, settings)
    ]
    return sorted(set(problems))
