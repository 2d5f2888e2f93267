"""The pull-request comment assembled from the preview workflow's per-stack results."""

from __future__ import annotations

from pathlib import Path

from meshstack.cli import main
from meshstack.diff.comment import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    StackReview,
    build_comment,
    load_reviews,
    shorten,
    water_fill,
)


def _write(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)


def test_results_load_per_stack_with_missing_steps_as_not_run(tmp_path: Path) -> None:
    _write(tmp_path / "prod", diff_md="# Mesh diff\n", diff_status="3\n", preview_status="0")
    _write(tmp_path / "dev", diff_status="0")
    (tmp_path / "unrelated").mkdir()
    reviews = load_reviews(tmp_path)
    assert [r.stack for r in reviews] == ["dev", "prod"]
    dev, prod = reviews
    assert (dev.mesh_changes, dev.preview_outcome) == ("unchanged", "not run")
    assert (prod.mesh_changes, prod.preview_outcome) == ("⚠️ risky", "✅ passed")
    assert prod.diff == "# Mesh diff\n" and prod.preview is None


def test_the_comment_starts_with_its_marker_and_a_summary_row_per_stack() -> None:
    reviews = [
        StackReview("dev", "No mesh changes.\n", 0, "graph", "preview ok", 0),
        StackReview("prod", "- reviews: weight 10 → 20\n", 2, None, "policy violated", 255),
    ]
    comment = build_comment(reviews, title="#7")
    lines = comment.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "## meshstack review — #7"
    assert "| `dev` | unchanged | ✅ passed |" in lines
    assert "| `prod` | changed | ❌ failed (exit 255) |" in lines
    prod = comment[comment.index("### `prod`") :]
    assert "- reviews: weight 10 → 20" in prod
    # a failed preview is shown open, a passing one folded
    assert "<details open><summary><code>pulumi preview --diff</code>" in prod
    assert "<details><summary><code>pulumi preview --diff</code>" in comment
    assert "```diff\npolicy violated\n```" in prod


def test_a_diff_that_errored_says_so() -> None:
    review = StackReview(
        "staging", "meshstack: no stack 'staging' at 'origin/main'", 1, None, None, None
    )
    assert review.mesh_changes == "❌ error (exit 1)"


def test_no_results_still_make_a_comment() -> None:
    assert "No stack was reviewed" in build_comment([], title="#1")


def test_huge_previews_are_shortened_in_the_middle_to_fit_githubs_limit() -> None:
    preview = "\n".join(f"  ~ resource {i}" for i in range(20_000)) + "\nResources: 20000 to update"
    diff = "- one mesh change\n"
    reviews = [StackReview(s, diff, 2, "graph\n", preview, 0) for s in ("dev", "staging", "prod")]
    comment = build_comment(reviews, title="#9")
    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert comment.count("- one mesh change") == 3  # the semantic diffs are kept whole
    assert comment.count("Resources: 20000 to update") == 3  # so is each preview's summary
    assert comment.count("lines cut; the workflow run's artifact has everything") == 3


def test_shorten_keeps_head_and_tail() -> None:
    text = "\n".join(str(i) for i in range(1000))
    short = shorten(text, 200)
    assert len(short) <= 200
    assert short.startswith("0\n1\n") and short.endswith("998\n999")
    assert shorten("small", 200) == "small"


def test_water_fill_gives_small_pieces_all_and_splits_the_rest() -> None:
    assert water_fill([10, 1000, 1000], 1010) == [10, 500, 500]
    assert water_fill([10, 20], 1000) == [10, 20]


def test_the_cli_prints_the_comment(tmp_path: Path, capsys: object) -> None:
    _write(tmp_path / "prod", diff_md="- x\n", diff_status="2")
    assert main(["review-comment", str(tmp_path), "--title", "#3"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.startswith(MARKER) and "| `prod` | changed | not run |" in out
