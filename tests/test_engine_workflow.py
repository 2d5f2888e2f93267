"""The pull-request workflow under the real CLI: a preview of one change shows exactly
that change, the policy pack judges the real preview, and a broken stack is stopped by
meshstack's validation before the engine registers anything."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT
from engine import run
from engine_stack import new_stack

pytestmark = pytest.mark.engine

GUARDRAILS = (
    "strict-mtls-in-production",
    "mesh-wide-strict-mtls-in-production",
    "controlled-egress-in-production",
    "request-rules-on-a-waypoint",
    "no-floating-images",
    "route-weights-sum-to-100",
    "no-allow-all-authorization",
    "protected-istio-crds",
    "no-fault-injection-in-production",
    "awaited-in-production",
    "fail-closed-validation-in-production",
)


def plan(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What each step would do: its operation, resource, field diff and new inputs and
    dependencies (the engine lists dependencies in no fixed order)."""
    return [
        (
            s["op"],
            s["urn"],
            s.get("detailedDiff"),
            s["newState"]["inputs"],
            sorted(s["newState"].get("dependencies") or ()),
        )
        for s in steps
    ]


def changed_steps(preview: dict[str, object]) -> list[dict[str, object]]:
    steps = preview.get("steps") or []
    assert isinstance(steps, list)
    return [s for s in steps if s.get("op") not in ("same", "read")]


def test_preview_of_a_canary_weight_change_shows_exactly_that_change(tmp_path: Path) -> None:
    stack = new_stack(tmp_path, "staging")
    stack.up()  # the base branch's state
    stack.set_config("meshstack:canaryWeights.reviews", "50", path=True)  # the head

    steps = changed_steps(stack.preview_json())

    assert [(s["op"], str(s["urn"]).rsplit("::", 1)[1]) for s in steps] == [
        ("update", "mesh-policy-virtualservice-bookinfo-reviews")
    ]
    diff = steps[0]["detailedDiff"]
    assert isinstance(diff, dict)
    assert sorted(diff) == ["spec.http[0].route[0].weight", "spec.http[0].route[1].weight"]
    new_spec = steps[0]["newState"]["inputs"]["spec"]  # type: ignore[index]
    assert [r["weight"] for r in new_spec["http"][0]["route"]] == [50, 50]

    # Previews skip the engine's per-step checkpoints (PREVIEW_ENV): the plan must be the
    # one a default preview makes, and neither may touch the stack's state.
    state = stack.export()
    default = run(
        ["pulumi", "preview", "--json", "--diff", "--stack", stack.name, "--non-interactive"],
        stack.project,
        stack.env,
    )
    assert plan(changed_steps(json.loads(default.stdout))) == plan(steps)
    assert stack.export() == state


def test_a_broken_stack_is_stopped_before_anything_is_registered(tmp_path: Path) -> None:
    stack = new_stack(
        tmp_path, "dev", config={"meshstack:canaryWeights": {"nosuch": 150}}, with_crd_layer=False
    )

    failed = stack.pulumi("up", "--yes", "--skip-preview", check=False)

    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "meshstack:canaryWeights.nosuch: no canary for 'nosuch'" in output
    assert "nothing was registered" in output
    assert "Traceback" not in output
    assert [t for t in stack.resource_types() if t != "pulumi:pulumi:Stack"] == []


def test_a_mesh_whose_crd_stack_is_not_up_is_stopped_before_anything_is_registered(
    tmp_path: Path,
) -> None:
    stack = new_stack(tmp_path, "dev", with_crd_layer=False)

    failed = stack.pulumi("up", "--yes", "--skip-preview", check=False)

    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "install.crd_stack: stack 'dev-crds' cannot be read" in output
    assert "'pulumi up -s dev-crds'" in output
    assert "nothing was registered" in output
    assert "Traceback" not in output
    # Reading the other stack's outputs is an invoke of the engine's builtin provider,
    # which the engine records: bookkeeping, nothing of the mesh.
    engine_own = ("pulumi:pulumi:Stack", "pulumi:providers:pulumi")
    assert [t for t in stack.resource_types() if t not in engine_own] == []


POLICY_PACK = Path(sys.executable).parent / "meshstack-policy-pack"
"""The pack as the package installs it: what ``meshstack policy-pack`` prints."""


@pytest.mark.parametrize("name", ("dev", "staging", "prod"))
def test_every_stack_passes_the_policy_pack_under_the_real_cli(name: str, tmp_path: Path) -> None:
    stack = new_stack(tmp_path, name)
    pack = POLICY_PACK

    preview = stack.pulumi("preview", "--policy-pack", str(pack), check=False)

    output = preview.stdout + preview.stderr
    assert preview.returncode == 0, output
    assert "meshstack-guardrails" in output or "Policies:" in output, output


def test_the_loosened_prod_program_fails_every_guardrail_under_the_real_cli(
    tmp_path: Path,
) -> None:
    stack = new_stack(tmp_path, "prod")
    shutil.copy2(PROJECT / "tests" / "programs" / "loosened_prod.py", stack.project / "__main__.py")
    pack = POLICY_PACK

    preview = stack.pulumi("preview", "--policy-pack", str(pack), check=False)

    output = preview.stdout + preview.stderr
    assert preview.returncode != 0, output
    missing = [g for g in GUARDRAILS if g not in output]
    assert missing == [], f"guardrails that did not fire: {missing}\n{output}"
    assert "mandatory" in output


def test_an_unreachable_chart_repository_is_one_line_before_anything_is_registered(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"https://127.0.0.1:{probe.getsockname()[1]}/charts"
        stack = new_stack(
            tmp_path,
            "dev",
            config={"meshstack:istioCharts": {"kind": "repository", "url": url}},
            with_crd_layer=False,
        )
        preview = stack.pulumi("preview", check=False)
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0
    assert f"meshstack:istioCharts: chart 'base' comes from {url}, which this machine" in output
    assert "offline, set meshstack:istioCharts (kind local" in output
    assert "nothing was registered" in output
    assert "Traceback" not in output and "grpc" not in output.lower()
