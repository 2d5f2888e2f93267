"""Preview-time guardrails: rules a platform team enforces on whatever a stack plans.

Typed validation (``meshstack.validation``) judges a spec before anything is
registered; these rules judge the *resources* the engine is about to create,
so they also catch what a team registers by hand beside the components, or a
spec loosened for an emergency. Each rule is a pure function of planned
resources, unit-tested as such; ``policy/__main__.py`` hands them to the
``pulumi-policy`` SDK so ``pulumi preview --policy-pack policy`` enforces them.
"""

from meshstack.guardrails.catalog import RESOURCE_GUARDRAILS, STACK_GUARDRAILS
from meshstack.guardrails.model import (
    GuardrailSettings,
    PlannedResource,
    ResourceGuardrail,
    StackGuardrail,
    StackViolation,
)

__all__ = [
    "RESOURCE_GUARDRAILS",
    "STACK_GUARDRAILS",
    "GuardrailSettings",
    "PlannedResource",
    "ResourceGuardrail",
    "StackGuardrail",
    "StackViolation",
]
