"""What validation reports: a problem is a field path plus what is wrong there."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One invalid thing in a spec. ``path`` reads like Python attribute access
    from the spec's root, with ``[name]`` for named items and ``[i]`` otherwise."""

    path: str
    message: str
    where: str = ""
    """``stacks/<name>.py:LINE`` that built the object, when the stack file is known."""

    def __str__(self) -> str:
        head = f"{self.where}: " if self.where else ""
        return f"{head}{self.path}: {self.message}"


class SpecInvalid(ValueError):
    """Raised before any resource is registered when a spec has problems."""

    def __init__(self, stack: str, problems: Iterable[Problem]) -> None:
        self.stack = stack
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"stack {stack!r} has {len(self.problems)} problem(s); nothing was registered:\n{lines}"
        )


def suggestion(written: str, candidates: Iterable[str], what: str, shown: int = 8) -> str:
    """``; did you mean 'x'? <what>s: a, b, c`` for a name that matches nothing: the
    closest candidate when one is close, and the candidates themselves (the first
    ``shown``), so the person reading knows what would be valid."""
    names = sorted(set(candidates))
    close = difflib.get_close_matches(written, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(names[:shown]) + (
        f" and {len(names) - shown} more" if len(names) > shown else ""
    )
    return f"{hint} {what}s: {listed or 'none'}" if hint else f"; {what}s: {listed or 'none'}"


def undeclared_namespace(
    path: str, namespace: str, declared: Iterable[str], *, why: str = ""
) -> Problem:
    """The one wording for a namespace the spec does not declare: what is wrong, where
    (``path``), what is declared (with a did-you-mean), and ``why`` it must be."""
    because = f" ({why})" if why else ""
    return Problem(
        path,
        f"namespace {namespace!r} is not declared in namespaces{because}"
        + suggestion(namespace, declared, "declared namespace"),
    )


def declared_twice(path: str, what: str) -> Problem:
    """The one wording for a name used a second time where names must be unique (``what``:
    ``"namespace 'shop'"``); the path names the second."""
    return Problem(
        path, f"{what} is declared twice; names here must be unique: rename or remove one"
    )
