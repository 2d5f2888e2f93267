"""The resources a stack's program will register, as the guardrails see them, without an engine.

``meshstack validate`` runs the policy pack's own rules on this plan for the stacks the
guardrails treat as production, so a floating image tag or an unprotected CRD chart is
reported before anyone runs a preview. The plan holds what the components register: each
rendered object under its Pulumi type, and each Helm release as a helm v4 ``Chart`` with
the inputs and ``protect`` the components give it.
"""

from __future__ import annotations

from meshstack.guardrails.catalog import RESOURCE_GUARDRAILS, STACK_GUARDRAILS
from meshstack.guardrails.model import GuardrailSettings, PlannedResource
from meshstack.render import render, stack_releases
from meshstack.render.objects import type_token
from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"


def _urn(stack: str, resource_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::meshstack::{resource_type}::{name}"


def planned_resources(spec: MeshSpec, stack: str) -> list[PlannedResource]:
    planned = [
        PlannedResource(type_token(obj), obj, _urn(stack, type_token(obj), obj["metadata"]["name"]))
        for obj in render(spec)
    ]
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
    spec: MeshSpec, stack: str, settings: GuardrailSettings | None = None
) -> list[Problem]:
    """Every guardrail violation of the plan; none for a stack that is not production."""
    settings = settings or GuardrailSettings()
    if not settings.production:
        return []
    planned = planned_resources(spec, stack)
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
