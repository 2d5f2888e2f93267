"""The pull-request comment: each stack's mesh diff, who-can-call-whom and preview, in one.

The preview workflow leaves one folder per stack (see ``StackReview.FILES``);
this module reads them and writes a single Markdown comment that fits GitHub's
size limit. Reviewers read the summary table first, then the semantic diff,
then the raw preview; the least important text is what gets shortened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from meshstack.diff import Outcome

MARKER = "<!-- meshstack-review -->"
"""First line of the comment: the workflow finds and updates its own comment by it."""

GITHUB_COMMENT_LIMIT = 65_536
DIFF_STATUS: dict[int, str] = {
    Outcome.UNCHANGED: "unchanged",
    Outcome.CHANGED: "changed",
    Outcome.RISKY: "⚠️ risky",
}
"""How the comment names each exit status of ``meshstack diff`` (any other is an error)."""
MIN_SECTION = 400
"""Below this many characters a shortened section says nothing useful: it is left out."""


@dataclass(frozen=True)
class StackReview:
    """What the workflow produced for one stack; ``None`` where a step did not run."""

    stack: str
    diff: str | None
    diff_status: int | None
    graph: str | None
    preview: str | None
    preview_status: int | None

    FILES = ("diff.md", "diff.status", "graph.md", "preview.txt", "preview.status")

    @classmethod
    def load(cls, folder: Path) -> StackReview:
        def text(name: str) -> str | None:
            path = folder / name
            return path.read_text(errors="replace") if path.is_file() else None

        def status(name: str) -> int | None:
            value = (text(name) or "").strip()
            return int(value) if value.lstrip("-").isdigit() else None

        return cls(
            stack=folder.name,
            diff=text("diff.md"),
            diff_status=status("diff.status"),
            graph=text("graph.md"),
            preview=text("preview.txt"),
            preview_status=status("preview.status"),
        )

    @property
    def mesh_changes(self) -> str:
        if self.diff_status is None:
            return "not run"
        return DIFF_STATUS.get(self.diff_status, f"❌ error (exit {self.diff_status})")

    @property
    def preview_outcome(self) -> str:
        if self.preview_status is None:
            return "not run"
        if self.preview_status == 0:
            return "✅ passed"
        return f"❌ failed (exit {self.preview_status})"


def load_reviews(root: Path) -> list[StackReview]:
    """One review per stack folder under ``root`` that holds any of the workflow's files."""
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [
        StackReview.load(f) for f in folders if any((f / n).is_file() for n in StackReview.FILES)
    ]


def shorten(text: str, budget: int) -> str:
    """``text`` within ``budget`` characters, keeping its head and its tail.

    A preview's first lines name what changes and its last lines hold the
    summary and any policy violations, so the middle is what goes.
    """
    if len(text) <= budget:
        return text
    lines = text.splitlines()
    note = "\n… {} lines cut; the workflow run's artifact has everything …\n"
    room = budget - len(note.format(len(lines)))
    head: list[str] = []
    tail: list[str] = []
    used = 0
    front, back = 0, len(lines) - 1
    while front <= back:
        take_front = len(head) <= len(tail)
        line = lines[front] if take_front else lines[back]
        if used + len(line) + 1 > room:
            break
        used += len(line) + 1
        if take_front:
            head.append(line)
            front += 1
        else:
            tail.append(line)
            back -= 1
    cut = len(lines) - len(head) - len(tail)
    return "\n".join(head) + note.format(cut) + "\n".join(reversed(tail))


def _details(summary: str, body: str, *, fence: str | None = None, open_: bool = False) -> str:
    if fence is not None:
        body = f"```{fence}\n{body.rstrip()}\n```"
    opening = "<details open>" if open_ else "<details>"
    return f"{opening}<summary>{summary}</summary>\n\n{body.rstrip()}\n\n</details>\n"


def _summary_table(reviews: Sequence[StackReview]) -> str:
    rows = [f"| `{r.stack}` | {r.mesh_changes} | {r.preview_outcome} |" for r in reviews]
    return "\n".join(
        ["| stack | mesh changes | preview with policy pack |", "|---|---|---|", *rows]
    )


def water_fill(needs: Sequence[int], budget: int) -> list[int]:
    """Share ``budget`` so small pieces get all they need and large ones split the rest evenly."""
    shares = [0] * len(needs)
    left = budget
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    for position, i in enumerate(order):
        fair = left // (len(needs) - position)
        shares[i] = min(needs[i], fair)
        left -= shares[i]
    return shares


@dataclass(frozen=True)
class _Piece:
    stack_index: int
    summary: str
    body: str
    fence: str | None
    open_: bool

    def full(self) -> str:
        return _details(self.summary, self.body, fence=self.fence, open_=self.open_)

    def render(self, budget: int) -> str:
        full = self.full()
        if len(full) <= budget:
            return full
        room = budget - len(_details(self.summary, "", fence=self.fence, open_=self.open_)) - 1
        if room < MIN_SECTION:
            return f"_{self.summary}: left out to fit the comment; see the workflow run._\n"
        return _details(self.summary, shorten(self.body, room), fence=self.fence, open_=self.open_)


def _pieces(reviews: Sequence[StackReview]) -> list[_Piece]:
    pieces = []
    for i, r in enumerate(reviews):
        failed = r.diff_status == 3 or r.preview_status not in (None, 0)
        if r.diff is not None:
            pieces.append(_Piece(i, "Mesh diff", r.diff, None, True))
        if r.preview is not None:
            summary = "<code>pulumi preview --diff</code> with the policy pack"
            pieces.append(_Piece(i, summary, r.preview, "diff", failed))
        if r.graph is not None:
            pieces.append(_Piece(i, "Who can call whom", r.graph, None, False))
    return pieces


def build_comment(
    reviews: Sequence[StackReview], *, title: str, limit: int = GITHUB_COMMENT_LIMIT
) -> str:
    """The whole comment, never longer than ``limit`` characters."""
    head = f"{MARKER}\n## meshstack review — {title}\n\n{_summary_table(reviews)}\n"
    if not reviews:
        return head + "\nNo stack was reviewed: the workflow produced no results.\n"
    headings = [f"\n### `{r.stack}`\n\n" for r in reviews]
    pieces = _pieces(reviews)
    needs = [len(p.full()) for p in pieces]
    budget = limit - len(head) - sum(map(len, headings))
    sections: list[list[str]] = [[] for _ in reviews]
    for piece, share in zip(pieces, water_fill(needs, budget), strict=True):
        sections[piece.stack_index].append(piece.render(share))
    comment = head + "".join(h + "".join(s) for h, s in zip(headings, sections, strict=True))
    return comment if len(comment) <= limit else comment[: limit - 2] + "…\n"
