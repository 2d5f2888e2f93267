"""The policy pack: meshstack's guardrails handed to the pulumi-policy SDK.

The rules themselves are pure functions in ``meshstack.guardrails`` (tested
without any engine); this file only adapts them to the SDK's validation
arguments. Every rule is mandatory: a violation fails ``pulumi preview``.
Production stacks default to ``prod``; ``--policy-pack-config`` may set
``productionStacks`` and ``meshRootNamespace`` per policy.
"""

from __future__ import annotations

from meshstack.guardrails import (
    RESOURCE_GUARDRAILS,
    STACK_GUARDRAILS,
    GuardrailSettings,
    PlannedResource,
    ResourceGuardrail,
    StackGuardrail,
)
from meshstack.guardrails.model import CONFIG_SCHEMA
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

PACK_NAME = "meshstack-guardrails"


def _schema(configurable: bool) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=CONFIG_SCHEMA) if configurable else None


def resource_policy(guardrail: ResourceGuardrail) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        planned = PlannedResource(args.resource_type, args.props, args.urn, args.opts.protect)
        settings = GuardrailSettings.from_config(args.get_config())
        for message in guardrail.check(planned, settings):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=guardrail.name,
        description=guardrail.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_schema(guardrail.configurable),
    )


def stack_policy(guardrail: StackGuardrail) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        planned = [
            PlannedResource(r.resource_type, r.props, r.urn, r.opts.protect) for r in args.resources
        ]
        settings = GuardrailSettings.from_config(args.get_config())
        for violation in guardrail.check(planned, settings):
            report_violation(violation.message, violation.urn or None)

    return StackValidationPolicy(
        name=guardrail.name,
        description=guardrail.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_schema(guardrail.configurable),
    )


def policies() -> list[Policy]:
    return [
        *(resource_policy(g) for g in RESOURCE_GUARDRAILS),
        *(stack_policy(g) for g in STACK_GUARDRAILS),
    ]


if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=policies())  # serves the engine until it is stopped
