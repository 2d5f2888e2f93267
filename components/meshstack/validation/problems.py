"""What validation reports: a problem is a field path plus what is wrong there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One invalid thing in a spec. ``path`` reads like Python attribute access
    from the spec's root, with ``[name]`` for named items and ``[i]`` otherwise."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecInvalid(ValueError):
    """Raised before any resource is registered when a spec has problems."""

    def __init__(self, stack: str, problems: Iterable[Problem]) -> None:
        self.stack = stack
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"stack {stack!r} has {len(self.problems)} problem(s); nothing was registered:\n{lines}"
        )
