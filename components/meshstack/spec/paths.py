"""How a field path names an item of a collection: the one builder every rule, the
renderer's checks and the stack-file locator use, so one item always has one path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def item_path(path: str, index: int, item: Any) -> str:
    """``path[label]`` by the item model's ``path_key`` field (``name``; a canary's
    ``service``) when that is a non-empty string, ``path[index]`` otherwise."""
    key = getattr(type(item), "path_key", "name")
    label = getattr(item, key, None)
    return f"{path}[{label}]" if isinstance(label, str) and label else f"{path}[{index}]"


def flattened(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping's leaves by dotted path (``{"global": {"hub": x}}`` →
    ``{"global.hub": x}``); an empty mapping is a leaf of its own."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            flat.update(flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
