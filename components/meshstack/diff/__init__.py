"""The semantic mesh diff: what a change does to the mesh, in mesh terms.

Both sides are reduced to objects, details and facts (:mod:`meshstack.diff.subjects`,
derived from the models so that no modelled field is missed) and compared. Each change
names the thing and its before → after value; weakening changes are flagged by
:mod:`meshstack.diff.risk` and lead the output, most severe first. Many per-pair
permission lines fold into one summary line per callee.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from meshstack.diff.keys import Kind, SubjectKey
from meshstack.diff.risk import CANARY_STEP, Line, judge
from meshstack.diff.subjects import subjects
from meshstack.spec.mesh import MeshSpec

__all__ = ["CANARY_STEP", "Change", "Outcome", "diff", "outcome", "to_markdown"]

PAIRS_SHOWN = 12
"""More caller → callee lines than this in a section fold into one line per callee."""


class Outcome(IntEnum):
    """The exit status of ``meshstack diff``."""

    UNCHANGED = 0
    CHANGED = 2
    RISKY = 3


@dataclass(frozen=True)
class Change:
    key: str
    before: str | None
    after: str | None
    risk: str | None = None
    rank: int = 0
    """Severity of ``risk``: 0 is the most severe (see ``diff_risk.RULES``)."""
    subject: SubjectKey | None = field(default=None, compare=False)
    """What ``key`` says, as data (``None`` for a change built by hand)."""

    @property
    def is_permission(self) -> bool:
        return self.subject is not None and self.subject.kind is Kind.ACCESS

    def line(self) -> str:
        if self.before is None:
            text = f"{self.key}: added: {self.after}"
        elif self.after is None:
            text = f"{self.key}: removed (was {self.before})"
        else:
            text = f"{self.key}: {self.before} → {self.after}"
        return f"{text}  ⚠ {self.risk}" if self.risk else text


def _brief(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def _brief_or_none(value: Any) -> str | None:
    """A field left at its default is absent from the dump: ``None`` reads as added/removed."""
    return None if value is None else _brief(value)


def _field_pairs(
    key: SubjectKey, old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[SubjectKey, str | None, str | None]]:
    return [
        (key.with_field(field), _brief_or_none(old.get(field)), _brief_or_none(new.get(field)))
        for field in sorted(old.keys() | new.keys())
    ]


def diff(
    base: MeshSpec, head: MeshSpec, *, canary_step: int = CANARY_STEP, production: bool = False
) -> list[Change]:
    """Every difference, sorted by what it is about; ``production`` says whether the head
    is a production stack (``meshstack.stack_config``), which makes some changes risky.

    An object present on both sides reports each changed field (``route
    bookinfo/reviews#0 timeout: "5s" → "10s"``); an added or removed object is
    one line with all of it.
    """
    old, new = subjects(base), subjects(head)
    keys = old.objects.keys() | new.objects.keys() | old.facts.keys() | new.facts.keys()
    keys |= old.details.keys() & new.details.keys()
    pairs: list[tuple[SubjectKey, str | None, str | None]] = []
    for key in sorted(keys, key=str):
        if key in old.objects and key in new.objects:
            pairs += _field_pairs(key, old.objects[key], new.objects[key])
        elif key in old.details and key in new.details:
            pairs += _field_pairs(key, old.details[key], new.details[key])
        else:
            before = _brief(old.objects[key]) if key in old.objects else old.facts.get(key)
            after = _brief(new.objects[key]) if key in new.objects else new.facts.get(key)
            pairs.append((key, before, after))
    changes = []
    for key, before, after in pairs:
        if before == after:
            continue
        judged = judge(Line(key, before, after, head, canary_step, production))
        risk, rank = judged if judged else (None, 0)
        changes.append(Change(str(key), before, after, risk, rank, key))
    return changes


def outcome(changes: list[Change]) -> Outcome:
    if any(c.risk for c in changes):
        return Outcome.RISKY
    return Outcome.CHANGED if changes else Outcome.UNCHANGED


def _items(changes: list[Change]) -> list[str]:
    """One ``- `` line per change; past :data:`PAIRS_SHOWN` permission changes, one line
    per callee instead (``meshstack graph`` has the whole matrix)."""
    pairs = [c for c in changes if c.is_permission]
    if len(pairs) <= PAIRS_SHOWN:
        return [f"- {c.line()}" for c in changes]
    lines = [f"- {c.line()}" for c in changes if not c.is_permission]
    by_callee: dict[str, list[Change]] = defaultdict(list)
    for change in pairs:
        by_callee[change.key.split(" → ", 1)[1]].append(change)
    lines.append(
        f"- {len(pairs)} caller → callee permissions changed across {len(by_callee)} callees "
        "(`meshstack graph` shows the whole matrix):"
    )
    for callee, changed in sorted(by_callee.items()):
        callers = ", ".join(
            f"{c.key.split(' → ', 1)[0]} ({c.before or 'denied'} → {c.after or 'denied'})"
            for c in changed
        )
        widened = any(c.risk for c in changed)
        lines.append(f"  - {callee} ← {callers}" + ("  ⚠ access widened" if widened else ""))
    return lines


def to_markdown(title: str, changes: list[Change]) -> str:
    risky = sorted((c for c in changes if c.risk), key=lambda c: (c.rank, c.key))
    lines = [f"# Mesh diff — {title}", ""]
    if not changes:
        return "\n".join([*lines, "No change to the mesh.", ""])
    lines.append(f"{len(changes)} change(s), {len(risky)} risky.")
    if risky:
        lines += ["", "## Risky", "", *_items(risky)]
    lines += ["", "## All changes", "", *_items(changes), ""]
    return "\n".join(lines)
