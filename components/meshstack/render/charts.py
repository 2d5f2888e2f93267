"""Helm releases as plain data: which chart, version and values each release gets, and
what it waits for. Pure, so the components, the CLI and the tests share one plan."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChartRef:
    """How Helm finds a chart: a name in ``repository``, an ``oci://`` reference, or a
    local path (then ``version`` is ``None``: the directory is the version)."""

    chart: str
    version: str | None
    repository: str | None = None
    release: str | None = None
    """For a local path: the release the directory should hold (what a check of the
    directory compares its ``Chart.yaml`` with); Helm is never told it."""


@dataclass(frozen=True)
class HelmRelease:
    """One ``helm template``-style release the components register as a v4 ``Chart``."""

    name: str
    chart: ChartRef
    namespace: str
    values: dict[str, Any]
    after: tuple[str, ...] = ()
    """Releases (by name) that must be ready first."""
    role: str = ""
    """``base``, ``istiod``, ``gateway``, ``cni`` or an add-on name."""
    protect: bool = False
    keep_on_destroy: bool = True
    """Honour the chart's ``helm.sh/resource-policy: keep`` (the objects outlive a
    ``pulumi destroy``, as they outlive ``helm uninstall``). ``False``: the stack deletes
    everything it created."""


def deep_merge(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """``theirs`` over ``ours``, recursively for nested mappings; neither is modified."""
    merged = copy.deepcopy(ours)
    for key, value in theirs.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
