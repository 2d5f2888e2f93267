"""Mistakes made while *building* a spec in a stack file, collected instead of raised.

A constructor that gets a misspelt field, a missing one or a bad enum value raises
pydantic's ``ValidationError`` at once, so a stack file with three such mistakes would
show only the first, as pydantic's raw text without the stack file's line. While a stack
file runs under :func:`collecting`, :class:`~meshstack.spec.base.Spec` records each such
mistake here with the stack file's line, the model and field, the wrong value and what is
valid, and lets the file go on with a stand-in object, so that every mistake is found in
one run. Outside :func:`collecting` (a library user building specs in code) the
constructors raise as usual.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


@dataclass(frozen=True)
class BuildMistake:
    """One wrong argument to a spec constructor, at the stack file's line that made the call."""

    where: str
    """``stacks/<name>.py:LINE`` of the call, as the user would open it."""
    field_path: str
    """``Model.field`` (``Model.field[0].inner`` below it)."""
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field_path}{self.problem}"


@dataclass
class _Collector:
    stack_file: Path
    shown_as: str
    mistakes: list[BuildMistake] = field(default_factory=list)
    sites: dict[int, tuple[object, str]] = field(default_factory=dict)
    """``id(object)`` → (the object, kept alive so its id stays its own; where it was built)."""

    def call_site(self) -> str:
        """The innermost frame in the stack file, or in a module of its project that it
        imports (``stacks/_common.py``): the line that called the constructor."""
        project = self.stack_file.parent.parent
        frame = sys._getframe(1)
        while frame is not None:
            path = Path(frame.f_code.co_filename).resolve()
            if path == self.stack_file:
                return f"{self.shown_as}:{frame.f_lineno}"
            if (
                path.is_relative_to(project)
                and not path.is_relative_to(PACKAGE)
                and "site-packages" not in path.parts
            ):
                shown = Path(self.shown_as).parent.parent / path.relative_to(project)
                return f"{shown}:{frame.f_lineno}"
            frame = frame.f_back  # type: ignore[assignment]
        return self.shown_as


PACKAGE = Path(__file__).resolve().parents[1]
"""meshstack's own sources: never the line a user wrote, nor a project's module, even when
meshstack is installed from inside the project (this repository's editable install)."""

_ACTIVE: ContextVar[_Collector | None] = ContextVar("meshstack_build_mistakes", default=None)


@contextmanager
def collecting(stack_file: Path, shown_as: str) -> Iterator[_Collector]:
    """Record constructor mistakes made while the body runs, and where each spec object
    was built; yields the collector (``mistakes``, ``sites``)."""
    collector = _Collector(stack_file.resolve(), shown_as)
    token = _ACTIVE.set(collector)
    try:
        yield collector
    finally:
        _ACTIVE.reset(token)


def remember_site(obj: object) -> None:
    """While a stack file runs, note the line that built ``obj`` (a spec object), so a
    problem validation finds in it later can name that line."""
    collector = _ACTIVE.get()
    if collector is not None:
        collector.sites[id(obj)] = (obj, collector.call_site())


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _describe(model: type[BaseModel], error: ErrorDetails) -> str:
    """`` = <value>: what is wrong; what is valid`` for one of pydantic's error entries."""
    loc = error["loc"]
    kind = error["type"]
    if kind == "missing":
        return ": required field missing"
    value = f" = {error['input']!r}"
    moved = getattr(model, "moved_fields", {}).get(str(loc[0])) if loc else None
    if kind == "extra_forbidden" and len(loc) == 1 and moved is not None:
        return f"{value}: moved: {moved}"
    if kind == "extra_forbidden" and len(loc) == 1:
        known = list(model.model_fields)
        close = difflib.get_close_matches(str(loc[0]), known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "valid fields: " + ", ".join(known)
        return f"{value}: unknown field; {hint}"
    if kind == "extra_forbidden":
        return f"{value}: unknown field"
    return f"{value}: {error['msg']}"


def record(model: type[BaseModel], error: ValidationError) -> bool:
    """Note ``error`` for the stack file being run; False when no stack file is (raise then)."""
    collector = _ACTIVE.get()
    if collector is None:
        return False
    where = collector.call_site()
    for entry in error.errors():
        collector.mistakes.append(
            BuildMistake(where, model.__name__ + _location(entry["loc"]), _describe(model, entry))
        )
    return True


def stand_in_values(data: Mapping[str, Any], error: ValidationError) -> dict[str, Any]:
    """The arguments that were not wrong, for a stand-in object built without validation."""
    wrong = {entry["loc"][0] for entry in error.errors() if entry["loc"]}
    return {key: value for key, value in data.items() if key not in wrong}


def report(stack: str, mistakes: list[BuildMistake], then: BaseException | None) -> str:
    """Every mistake, one per line; the error the file died of afterwards is a consequence."""
    lines = [f"stack {stack!r} could not build its spec: {len(mistakes)} mistake(s)"]
    lines += [str(m) for m in mistakes]
    if then is not None:
        lines.append(f"(the stack file stopped after them: {type(then).__name__}: {then})")
    return "\n".join(lines)
