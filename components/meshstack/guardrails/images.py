"""No floating images: every container names a version tag or a digest.

``:latest`` (or no tag, which means latest) makes a rollout depend on when a
node pulls, breaks rollbacks and makes ``pulumi preview`` blind to the change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshstack.guardrails.model import GuardrailSettings, PlannedResource, as_list, child

WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
CHART_TYPES = frozenset({"kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"})
INJECTED_IMAGE = "auto"
"""Istio's injector replaces ``image: auto`` with the proxy image it is pinned to."""


def floating_tag(image: str) -> str | None:
    """Why ``image`` floats (``'latest'`` or ``'no tag'``), or None when it is pinned."""
    if "@" in image or image == INJECTED_IMAGE:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "no tag"
    return "latest" if last.split(":", 1)[1] == "latest" else None


def _pod_spec(resource: PlannedResource) -> Mapping[str, Any]:
    """The pod template's spec: the spec itself for a Pod, one level deeper for a CronJob."""
    if resource.kind == "Pod":
        return resource.spec
    workload = resource.spec
    if resource.kind == "CronJob":
        workload = child(child(workload, "jobTemplate"), "spec")
    return child(child(workload, "template"), "spec")


def _containers(resource: PlannedResource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    pod = _pod_spec(resource)
    for list_name in CONTAINER_LISTS:
        for container in as_list(pod.get(list_name)):
            if isinstance(container, Mapping):
                yield list_name, container


def _chart_values(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(values path, problem)`` for ``tag: latest`` and ``image: x:latest`` anywhere."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if key == "tag" and child == "latest":
                yield child_path, "tag latest"
            elif key == "image" and isinstance(child, str) and child.endswith(":latest"):
                yield child_path, f"image {child}"
            else:
                yield from _chart_values(child, child_path)
    else:
        for i, item in enumerate(as_list(value)):
            yield from _chart_values(item, f"{path}[{i}]")


def no_floating_images(resource: PlannedResource, _: GuardrailSettings) -> Iterator[str]:
    if resource.kind in WORKLOAD_KINDS:
        for list_name, container in _containers(resource):
            image = container.get("image")
            why = floating_tag(image) if isinstance(image, str) else None
            if why is not None:
                yield (
                    f"{resource.display_name}: {list_name}[{container.get('name', '?')}] image "
                    f"{image!r} has {why}; pin a version tag or a digest"
                )
    elif resource.type in CHART_TYPES:
        for path, problem in _chart_values(resource.props.get("values"), "values"):
            yield (
                f"chart {resource.props.get('chart', '?')!r}: {path} sets {problem}; "
                "pin a version tag"
            )
