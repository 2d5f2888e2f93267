"""What a production stack must not do even when its spec says so: inject faults, skip
waiting for readiness, or let Istio's webhook fail open.

Each is a legitimate tool elsewhere (a fault drill in dev, ``skipAwait`` against an API
server with no controllers, ``Ignore`` where istiod never runs), which is why the typed
spec accepts them; in production each one hides or causes an outage.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from meshstack.guardrails.model import (
    GuardrailSettings,
    PlannedResource,
    StackViolation,
    as_list,
    child,
)
from meshstack.guardrails.protection import is_istio_crd_source

NETWORKING = "networking.istio.io"
HELM_CHART_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
SKIP_AWAIT = "pulumi.com/skipAwait"


def no_fault_injection_in_production(
    resource: PlannedResource, settings: GuardrailSettings
) -> Iterator[str]:
    if not settings.is_production(resource) or not resource.is_kind(NETWORKING, "VirtualService"):
        return
    for i, route in enumerate(as_list(resource.spec.get("http"))):
        if isinstance(route, Mapping) and route.get("fault"):
            name = route.get("name", i)
            yield (
                f"{resource.display_name}: spec.http[{name}].fault injects delays or errors "
                f"into the real traffic of production stack {resource.stack!r}; drill in "
                "another stack"
            )


def awaited_in_production(
    resources: Sequence[PlannedResource], settings: GuardrailSettings
) -> Iterator[StackViolation]:
    """One finding for the stack: ``skipAwait`` marks every object at once."""
    skipped = [
        r
        for r in resources
        if settings.is_production(r)
        and r.type.startswith("kubernetes:")
        and str(child(child(r.props, "metadata"), "annotations").get(SKIP_AWAIT, "")).lower()
        == "true"
    ]
    if skipped:
        yield StackViolation(
            f"{len(skipped)} object(s) of production stack {skipped[0].stack!r} carry "
            f"metadata.annotations['{SKIP_AWAIT}'] = true ({skipped[0].display_name}, ...), "
            "so `pulumi up` reports success without waiting for them to become ready; "
            "unset meshstack:skipAwait",
            skipped[0].urn,
        )


def fail_closed_validation_in_production(
    resource: PlannedResource, settings: GuardrailSettings
) -> Iterator[str]:
    """Judged on what lands in the cluster, Istio's ValidatingWebhookConfigurations (the
    engine analyses a chart's objects, not the chart), and, where only the plan is known
    (``meshstack validate``, the SDK's mocks), on Istio's base chart's values — whose
    webhook validates Istio config cluster-wide (istiod's chart carries the same setting
    for its revision: one finding there, not two)."""
    if not settings.is_production(resource):
        return
    fix = "use Fail (unset meshstack:validationFailurePolicy)"
    if resource.is_kind("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"):
        name = child(resource.props, "metadata").get("name")
        webhooks = [w for w in as_list(resource.props.get("webhooks")) if isinstance(w, Mapping)]
        if isinstance(name, str) and "istio" in name:
            for webhook in webhooks:
                if webhook.get("failurePolicy") == "Ignore":
                    yield (
                        f"{resource.display_name}: webhook {webhook.get('name')!r} has "
                        "failurePolicy Ignore, so Istio config istiod cannot check is admitted "
                        f"unchecked in production stack {resource.stack!r}; {fix}"
                    )
                    return
        return
    if resource.type not in HELM_CHART_TYPES or not is_istio_crd_source(resource):
        return
    policy = child(child(resource.props, "values"), "base").get("validationFailurePolicy")
    if policy == "Ignore":
        yield (
            f"chart {resource.props.get('chart')!r}: values.base.validationFailurePolicy is "
            "Ignore, so Istio config istiod cannot check is admitted unchecked in production "
            f"stack {resource.stack!r}; {fix}"
        )
