"""Helpers that build Kubernetes objects as plain dicts with consistent metadata."""

from __future__ import annotations

from typing import Any

K8sObject = dict[str, Any]

MANAGED_BY = {"app.kubernetes.io/managed-by": "meshstack"}

NETWORKING = "networking.istio.io/v1"
NETWORKING_ALPHA = "networking.istio.io/v1alpha3"
SECURITY = "security.istio.io/v1"
TELEMETRY = "telemetry.istio.io/v1"


def k8s_object(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None,
    *,
    labels: dict[str, str] | None = None,
    **body: Any,
) -> K8sObject:
    """An object with ``metadata`` filled the same way everywhere; ``body`` keys go top-level."""
    metadata: dict[str, Any] = {"name": name, "labels": {**MANAGED_BY, **(labels or {})}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    """The mapping without ``None`` values, so optional settings stay out of manifests."""
    return {k: v for k, v in values.items() if v is not None}


def whole(number: float) -> int | float:
    """Percentages arrive as floats; Istio and Kubernetes prefer ``10`` to ``10.0``."""
    return int(number) if float(number).is_integer() else number


def type_token(obj: K8sObject) -> str:
    """The Pulumi type of ``obj``: ``kubernetes:apps/v1:Deployment``; the core group's ``v1``
    is spelt ``core/v1``, as pulumi-kubernetes' classes register it."""
    api_version = obj["apiVersion"]
    group_version = f"core/{api_version}" if "/" not in api_version else api_version
    return f"kubernetes:{group_version}:{obj['kind']}"


SKIP_AWAIT = "pulumi.com/skipAwait"
NO_WAIT_ANNOTATIONS = {
    SKIP_AWAIT: "true",
    "pulumi.com/deletionPropagationPolicy": "background",
}
"""What ``meshstack:skipAwait`` puts on every Kubernetes object: the provider waits on no
controller (an API server where nothing reconciles, such as the end-to-end tests')."""


WAIT_FOR = "pulumi.com/waitFor"
"""The provider's own wait for a condition on an object (``jsonpath={.data.token}``)."""


def without_waiting(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with :data:`NO_WAIT_ANNOTATIONS` added to its annotations. An object
    that says what to wait for (``pulumi.com/waitFor``) keeps that wait (what the program
    reads from it next does not exist until then), its delete still waits on no
    garbage collector."""
    own = metadata.get("annotations") or {}
    added = (
        {k: v for k, v in NO_WAIT_ANNOTATIONS.items() if k != SKIP_AWAIT}
        if WAIT_FOR in own
        else NO_WAIT_ANNOTATIONS
    )
    return {**metadata, "annotations": {**own, **added}}


def strip_descriptions(crd_spec: Any) -> Any:
    """A CRD's ``spec`` with every schema ``description`` string removed (a property named
    ``description`` is kept: only string values under that key are prose)."""

    def strip(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            return {
                key: strip(value, key == "properties")
                for key, value in node.items()
                if in_properties or not (key == "description" and isinstance(value, str))
            }
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return strip(crd_spec)
