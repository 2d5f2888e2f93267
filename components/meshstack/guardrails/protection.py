"""Istio's CRDs are protected in production.

Deleting a CustomResourceDefinition deletes every object of that kind in the
cluster: one mistaken ``pulumi destroy`` or rename of the base chart would
wipe all routing and security policy. ``protect`` makes the engine refuse.
The CRDs come from Istio's ``base`` chart, so the chart resource (whose
children inherit the option) and any CRD registered directly are checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.guardrails.images import CHART_TYPES
from meshstack.guardrails.model import GuardrailSettings, PlannedResource

CRD_CHART = "base"


def is_istio_crd_source(resource: PlannedResource) -> bool:
    """Istio's ``base`` chart (by name, OCI reference or local path) or an istio.io CRD."""
    if resource.type in CHART_TYPES:
        chart = resource.props.get("chart")
        return isinstance(chart, str) and chart.rstrip("/").rsplit("/", 1)[-1] == CRD_CHART
    if resource.is_kind("apiextensions.k8s.io", "CustomResourceDefinition"):
        group = resource.spec.get("group")
        return isinstance(group, str) and group.endswith("istio.io")
    return False


def protected_istio_crds(resource: PlannedResource, settings: GuardrailSettings) -> Iterator[str]:
    if settings.is_production(resource) and is_istio_crd_source(resource) and not resource.protect:
        what = (
            f"chart {resource.props.get('chart')!r}"
            if resource.type in CHART_TYPES
            else resource.display_name
        )
        yield (
            f"{what} holds Istio's CRDs but is not protected in production stack "
            f"{resource.stack!r}; deleting it deletes every Istio object — set protect "
            "(IstioInstall.protect)"
        )
