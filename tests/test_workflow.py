"""The pull-request workflow: its contract with the repository, and its own scripts run here.

actionlint and shellcheck check the file's syntax in ``make lint``; these tests
check what it does: that it previews every stack with the policy pack at the
pinned CLI version, and — by running the workflow's own ``run:`` scripts in a
scratch clone with a pull request's commit — that the diff, graph and comment
steps produce the comment a reviewer would read. Steps that need the Pulumi
CLI or GitHub's API are not run here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT
from engine import PREVIEW_ENV
from meshstack.diff.comment import MARKER
from meshstack.stacks import available_stacks
from scratch_repo import git

WORKFLOW = PROJECT / ".github" / "workflows" / "mesh-review.yml"
VENV_BIN = Path(sys.executable).parent


def pinned(package: str) -> str:
    """This repository's exact version of ``package`` (constraints.txt)."""
    for line in (PROJECT / "constraints.txt").read_text().splitlines():
        name, _, exact = line.partition("==")
        if name.strip().lower() == package:
            return exact.strip()
    raise LookupError(f"{package} is not pinned in constraints.txt")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [s for s in job["steps"] if s.get("name") == name]
    return found


def test_it_runs_on_pull_requests_and_only_the_comment_job_may_write(
    workflow: dict[str, Any],
) -> None:
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as true
    assert workflow["permissions"] == {"contents": "read"}
    writers = [
        n for n, j in workflow["jobs"].items() if "pull-requests" in j.get("permissions", {})
    ]
    assert writers == ["comment"]


def test_the_tests_run_first_and_gate_the_previews(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert step(jobs["test"], "make test")["run"] == "make test"
    assert jobs["preview"]["needs"] == "test"
    assert jobs["comment"]["needs"] == "preview"
    assert jobs["comment"]["if"].startswith("always()")


def test_every_stack_is_previewed(workflow: dict[str, Any]) -> None:
    matrix = workflow["jobs"]["preview"]["strategy"]["matrix"]["stack"]
    assert sorted(matrix) == available_stacks(PROJECT / "stacks")


def test_the_preview_uses_the_pinned_cli_the_diff_and_the_policy_pack(
    workflow: dict[str, Any],
) -> None:
    assert workflow["env"]["PULUMI_VERSION"] == pinned("pulumi")
    preview = step(workflow["jobs"]["preview"], "pulumi preview --diff with the policy pack")
    script = " ".join(preview["run"].split())
    assert (
        'pulumi preview --diff --non-interactive --policy-pack "$(meshstack policy-pack)"' in script
    )
    assert preview["env"] == PREVIEW_ENV, "the preview skips the engine's per-step checkpoints"


def _run(script: str, cwd: Path, env: dict[str, str]) -> None:
    """A ``run:`` block as GitHub runs it: bash, errexit and pipefail, no profile."""
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        check=True,
        timeout=120,
    )


def test_the_workflow_scripts_turn_a_pull_request_into_one_comment(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(
        PROJECT / "stacks", repo / "stacks", ignore=shutil.ignore_patterns("__pycache__")
    )
    for config in PROJECT.glob("Pulumi*.yaml"):
        shutil.copy(config, repo / config.name)
    (repo / ".venv").symlink_to(VENV_BIN.parent)
    git(repo, "init", "-q")
    git(repo, "add", "stacks", *(p.name for p in repo.glob("Pulumi*.yaml")))
    git(repo, "commit", "-qm", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # the PR's base branch
    prod = repo / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("reviews: 10", "reviews: 25"))
    git(repo, "commit", "-qam", "reviews canary to 25 %")

    preview_job = workflow["jobs"]["preview"]
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "BASE_REF": "main"}
    for stack in preview_job["strategy"]["matrix"]["stack"]:
        stack_env = {**env, "STACK": stack, "RESULTS": f"review/{stack}"}
        (repo / "review" / stack).mkdir(parents=True)
        _run(step(preview_job, "Mesh diff against the base branch")["run"], repo, stack_env)
        _run(step(preview_job, "Who can call whom")["run"], repo, stack_env)

    comment_job = workflow["jobs"]["comment"]
    _run(step(comment_job, "Build the comment")["run"], repo, {**env, "TITLE": "#42 at abc123"})
    comment = (repo / "comment.md").read_text()
    assert comment.startswith(f"{MARKER}\n## meshstack review — #42 at abc123")
    assert "| `dev` | unchanged | not run |" in comment
    assert "| `staging` | unchanged | not run |" in comment
    assert "| `prod` | changed | not run |" in comment
    prod_section = comment[comment.index("### `prod`") :]
    assert "1 change(s), 0 risky." in prod_section
    assert "- canary bookinfo/reviews split: v1 90% / v3 10% → v1 75% / v3 25%" in prod_section
    assert "Who can call whom" in prod_section and "```mermaid" in prod_section
