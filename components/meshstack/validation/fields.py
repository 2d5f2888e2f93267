"""Run the :class:`~meshstack.spec.base.FieldCheck` rules of every field in a spec.

The walk is linear in the size of the spec: each model class's checked
fields are worked out once and cached, and every value is visited once.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from meshstack.spec.base import FieldCheck
from meshstack.spec.paths import item_path
from meshstack.validation.problems import Problem

_NO_CHECKS: tuple[FieldCheck, ...] = ()


def _checks_of(annotation: Any) -> tuple[tuple[FieldCheck, ...], tuple[FieldCheck, ...]]:
    """(checks on the value itself, checks on each item/value of a tuple or dict)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        marked = tuple(m for m in meta if isinstance(m, FieldCheck))
        inner_own, inner_items = _checks_of(base)
        return marked + inner_own, inner_items
    if origin in (Union, types.UnionType):
        own: tuple[FieldCheck, ...] = ()
        items: tuple[FieldCheck, ...] = ()
        for arg in get_args(annotation):
            if arg is not type(None):
                arg_own, arg_items = _checks_of(arg)
                own += arg_own
                items += arg_items
        return own, items
    if origin is tuple:
        args = get_args(annotation)
        return _NO_CHECKS, _checks_of(args[0])[0] if args else _NO_CHECKS
    if origin is dict:
        args = get_args(annotation)
        return _NO_CHECKS, _checks_of(args[1])[0] if len(args) == 2 else _NO_CHECKS
    return _NO_CHECKS, _NO_CHECKS


@cache
def _plan(
    model: type[BaseModel],
) -> tuple[tuple[str, tuple[FieldCheck, ...], tuple[FieldCheck, ...]], ...]:
    plan = []
    for name, info in model.model_fields.items():
        own = tuple(m for m in info.metadata if isinstance(m, FieldCheck))
        ann_own, items = _checks_of(info.annotation)
        plan.append((name, own + ann_own, items))
    return tuple(plan)


def _failed(path: str, value: Any, checks: tuple[FieldCheck, ...]) -> Iterator[Problem]:
    for check in checks:
        if not check.accepts(value):
            yield Problem(path, f"{value!r} is not valid; expected {check.expected}")
            return


def field_problems(model: BaseModel, path: str = "") -> Iterator[Problem]:
    """Every FieldCheck that fails anywhere under ``model``."""
    for name, own, items in _plan(type(model)):
        value = getattr(model, name)
        if value is None:
            continue
        here = f"{path}.{name}" if path else name
        yield from _failed(here, value, own)
        if isinstance(value, BaseModel):
            yield from field_problems(value, here)
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                at = item_path(here, index, item)
                if isinstance(item, BaseModel):
                    yield from field_problems(item, at)
                elif items:
                    yield from _failed(at, item, items)
        elif isinstance(value, dict):
            for key, item in value.items():
                at = f"{here}[{key}]"
                if isinstance(item, BaseModel):
                    yield from field_problems(item, at)
                elif items:
                    yield from _failed(at, item, items)
