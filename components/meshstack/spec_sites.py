"""Which line of a stack file built the object a problem's field path names.

Validation reports a field path (``policy.canaries[reviews].weight``); while a stack file
runs, every spec object notes the stack-file line that built it
(:func:`meshstack.spec.build_mistakes.remember_site`). Following the path through the spec
as the stack file built it leads to the deepest object with a known line, so a semantic
problem reads like a building mistake: ``stacks/dev.py:42: policy.canaries[reviews]...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

from meshstack.validation.problems import Problem

_SEGMENT = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")
_ITEM_NAMES = ("name", "service", "workload")
"""The fields a ``[name]`` segment may match, in the order validation's paths use them."""

Sites = Mapping[int, tuple[object, str]]


def _item(items: tuple[object, ...], label: str) -> object | None:
    if label.isdigit():
        index = int(label)
        return items[index] if index < len(items) else None
    for field in _ITEM_NAMES:
        for item in items:
            if getattr(item, field, None) == label:
                return item
    for item in items:  # ``namespace/name``
        if f"{getattr(item, 'namespace', '')}/{getattr(item, 'name', '')}" == label:
            return item
    return None


def site_of(spec: BaseModel, path: str, sites: Sites) -> str | None:
    """The ``file:line`` that built the deepest object along ``path``, if any."""
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


def located(problems: list[Problem], spec: BaseModel, sites: Sites) -> list[Problem]:
    """``problems`` with the building line of what each names, where one is known."""
    return [
        Problem(p.path, p.message, where) if (where := site_of(spec, p.path, sites)) else p
        for p in problems
    ]
