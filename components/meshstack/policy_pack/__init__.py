"""meshstack's guardrails as a Pulumi policy pack, shipped and run from the package.

``pulumi preview --policy-pack "$(meshstack policy-pack)"``: the path printed is the
``meshstack-policy-pack`` executable that installing meshstack puts beside ``python``.
The CLI starts an executable policy pack directly, as it starts a provider, so the pack
needs no language host and no ``PulumiPolicy.yaml`` of the team's own.

The rules are pure functions in :mod:`meshstack.guardrails`; this module only adapts them
to the pulumi-policy SDK. Every rule is mandatory. Whether the stack is production is the
stack's own ``meshstack:production`` setting, which the engine hands the pack with the
rest of the stack's config (``ConfigureStack``) — the setting the program protects
namespaces by, so the two never disagree. ``--policy-pack-config`` may set
``meshRootNamespace`` per policy.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshstack.executables import installed
from meshstack.guardrails import (
    RESOURCE_GUARDRAILS,
    STACK_GUARDRAILS,
    GuardrailSettings,
    PlannedResource,
    ResourceGuardrail,
    StackGuardrail,
)
from meshstack.guardrails.model import CONFIG_SCHEMA
from meshstack.stack_config import production_from_stack_config

PACK_NAME = "meshstack-guardrails"
EXECUTABLE = "meshstack-policy-pack"

_stack_config: dict[str, str] = {}
"""The judged stack's config (``namespace:key`` → Pulumi's text), from ``ConfigureStack``."""


def executable() -> Path | None:
    """Where the pack's executable is installed: beside this interpreter, else on PATH."""
    return installed(EXECUTABLE)


def _settings(config: Mapping[str, Any]) -> GuardrailSettings:
    return GuardrailSettings.from_config(
        config, production=production_from_stack_config(_stack_config)
    )


def _listen_for_the_stack_config() -> None:
    """Keep the stack config the engine sends with ``ConfigureStack``.

    The pulumi-policy SDK (1.x) receives the whole stack config in that call but keeps
    only the stack's tags; the engine sends it before any ``Analyze``
    (``NewPolicyAnalyzer`` in pulumi's ``analyzer_plugin.go``).
    """
    from pulumi_policy import policy as sdk

    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer, "_meshstack_listens", False):
        return
    original = servicer.ConfigureStack

    def configure_stack(self: Any, request: Any, context: Any) -> Any:
        _stack_config.clear()
        _stack_config.update(dict(request.config))
        return original(self, request, context)

    setattr(servicer, "ConfigureStack", configure_stack)  # noqa: B010 (a method, on purpose)
    setattr(servicer, "_meshstack_listens", True)  # noqa: B010


def policies() -> list[Any]:
    """Every guardrail as a mandatory pulumi-policy policy."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyConfigSchema,
        ReportViolation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )

    def schema(configurable: bool) -> PolicyConfigSchema | None:
        return PolicyConfigSchema(properties=CONFIG_SCHEMA) if configurable else None

    def resource_policy(guardrail: ResourceGuardrail) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            planned = PlannedResource(args.resource_type, args.props, args.urn, args.opts.protect)
            for message in guardrail.check(planned, _settings(args.get_config())):
                report_violation(message, None)

        return ResourceValidationPolicy(
            name=guardrail.name,
            description=guardrail.description,
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=schema(guardrail.configurable),
        )

    def stack_policy(guardrail: StackGuardrail) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            planned = [
                PlannedResource(r.resource_type, r.props, r.urn, r.opts.protect)
                for r in args.resources
            ]
            for violation in guardrail.check(planned, _settings(args.get_config())):
                report_violation(violation.message, violation.urn or None)

        return StackValidationPolicy(
            name=guardrail.name,
            description=guardrail.description,
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=schema(guardrail.configurable),
        )

    return [
        *(resource_policy(g) for g in RESOURCE_GUARDRAILS),
        *(stack_policy(g) for g in STACK_GUARDRAILS),
    ]


def serve() -> None:
    """Serve the pack to the engine until it stops us (prints the port, as the SDK does).

    The entry point of ``meshstack-policy-pack ENGINE_ADDRESS``; the engine's address is
    not needed (the SDK answers the engine, it never calls it).
    """
    try:
        from pulumi_policy import PolicyPack
    except ImportError:
        print(
            "meshstack-policy-pack: pulumi-policy is not installed: pip install 'meshstack[policy]'",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    _listen_for_the_stack_config()
    PolicyPack(name=PACK_NAME, policies=policies())
