"""Which line of a stack file built the object a problem's field path names.

Validation reports a field path (``policy.canaries[reviews].weight``); while a stack file
runs, every spec object notes the stack-file line that built it
(:func:`meshstack.spec.build_mistakes.remember_site`). Following the path through the spec
as the stack file built it leads to the deepest object with a known line, so a semantic
problem reads like a building mistake: ``stacks/dev.py:42: policy.canaries[reviews]...``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

from meshstack.spec.paths import item_path
from meshstack.validation.problems import Problem

_SEGMENT = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")
_ITEM_NAMES = ("name", "service", "workload")
"""Other fields a ``[name]`` segment may match (paths that name an item by a property such
as a control plane's ``name``, or by its namespace and name), in the order validation's
paths use them."""

Sites = Mapping[int, tuple[object, str]]


def _item(items: tuple[object, ...], label: str) -> object | None:
    if label.isdigit():
        index = int(label)
        return items[index] if index < len(items) else None
    for i, item in enumerate(items):  # the one path builder's label (an SLO's id, say)
        if item_path("", i, item) == f"[{label}]":
            return item
    for field in _ITEM_NAMES:
        for item in items:
            if getattr(item, field, None) == label:
                return item
    for item in items:  # ``namespace/name``
        if f"{getattr(item, 'namespace', '')}/{getattr(item, 'name', '')}" == label:
            return item
    return None


def site_of(spec: BaseModel, path: str, sites: Sites) -> str | None:
    """The ``file:line`` that built the deepest object along ``path``, if any; a path
    that names no field of the spec (a config key's) has none."""
    if path.split(".", 1)[0].split("[", 1)[0] not in type(spec).model_fields:
        return None
    found = sites.get(id(spec))
    where = found[1] if found else None
    current: object = spec
    for match in _SEGMENT.finditer(path):
        attribute, label = match.groups()
        if attribute is not None:
            if not isinstance(current, BaseModel) or attribute not in type(current).model_fields:
                break
            current = getattr(current, attribute)
        elif isinstance(current, tuple):
            item = _item(current, label)
            if item is None:
                break
            current = item
        elif isinstance(current, Mapping) and label in current:
            current = current[label]
        else:
            break
        found = sites.get(id(current))
        if found is not None:
            where = found[1]
    return where


CONFIGURED: dict[str, tuple[str, str]] = {
    "istioCharts": ("install.chart_source", ""),
    "validationFailurePolicy": ("install.validation_failure_policy", ""),
    "addonsSource": ("addons.source", ""),
    "gatewayApiCrds": ("gateway_api.source", ""),
    "canaryWeights": ("policy.canaries[", ".weight"),
    "imageTags": ("apps[", ".image"),
    "replicas": ("apps[", ".replicas"),
}
"""Where each config override writes into the spec (a path prefix and, for a key that sets
one field of many items, that field): a problem there comes from the stack's config."""


def _config_source(path: str, config_keys: Iterable[str]) -> str | None:
    for key in config_keys:
        prefix, field = CONFIGURED.get(key, ("", ""))
        if prefix and path.startswith(prefix) and path.endswith(field):
            return key
    return None


def located(
    problems: list[Problem],
    spec: BaseModel,
    sites: Sites,
    config_keys: Iterable[str] = (),
    config_file: str = "",
) -> list[Problem]:
    """``problems`` with the building line of what each names, where one is known; a
    problem in what a config key overrides names that key (and file) instead."""
    keys = list(config_keys)
    found = []
    for p in problems:
        key = _config_source(p.path, keys)
        if key is not None:
            where = f"{config_file} (meshstack:{key})" if config_file else f"meshstack:{key}"
        else:
            where = site_of(spec, p.path, sites) or ""
        found.append(Problem(p.path, p.message, where) if where else p)
    return found
