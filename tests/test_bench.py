"""``make bench`` keeps working: every tier runs and reports on the same objects.

No figure is asserted (speed is measured by the benchmark, never by a test); this only
keeps the harness from rotting between the occasions someone runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT
from meshstack.render import render
from meshstack.synthetic import synthetic_mesh

sys.path.insert(0, str(PROJECT / "scripts"))
from bench_engine import bench_env, engine_missing, istio_crds, write_projects
from engine import CliFailed, run
from engine_stack import require_toolchain

COMPONENTS = 4  # MeshStack and its namespaces, workloads and policy components


@pytest.mark.engine
def test_every_tier_reports_the_same_objects_and_a_growth_factor(tmp_path: Path) -> None:
    require_toolchain("pulumi", "language-python", "kubernetes-provider")
    out = tmp_path / "bench.json"
    printed = subprocess.run(
        [
            *(sys.executable, "scripts/bench.py", "--sizes", "5,10", "--runs", "1"),
            *("--l3-sizes", "5", "--up-stacks", "dev", "--up-runs", "1", "--out", str(out)),
            *("--up-variants", "file-none,s3-zstd", "--up-sizes", "5"),
        ],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report = json.loads(out.read_text())

    for size in (5, 10):
        row = report["results"][str(size)]
        objects = len(render(synthetic_mesh(size)))
        assert set(row) == {"L0", "L1", "L1b", "L2f", "L2"}
        assert row["L0"]["objects"] == row["L1b"]["objects"] == row["L2f"]["objects"] == objects
        assert row["L2"]["objects"] == objects + COMPONENTS
        assert all(tier["median_s"] > 0 and tier["peak_mib"] > 0 for tier in row.values())
        assert set(report["ratios"][str(size)]) == {"L2/L0", "L2f/L0", "L2/L2f"}
    assert all(set(factors) == {"5->10"} for factors in report["growth"].values())
    l3 = report["L3"]["5"]  # the real engine: make test builds the toolchain
    assert set(l3["preview_s"]) == {"meshstack", "configgroup", "floor", "typed", "checkpoints"}
    assert all(seconds > 0 for seconds in l3["preview_s"].values())
    assert l3["checkpoints_over_meshstack"] > 0
    up = report["UP"]["file-none"]["dev"]  # a real up of dev, with checkpoints and without
    assert up["up"]["state_mb"] == up["floor"]["state_mb"] > 1
    assert up["up"]["written_mb"] > up["floor"]["written_mb"]  # the checkpoints' bytes
    assert up["first_up_over_floor"] > 0
    # dev's CRDs live in dev-crds: that stack's first up is measured on its own.
    assert up["up"]["crd_layer_s"] > 0 and up["up"]["crd_layer_state_mb"] > 0
    synthetic = report["UP"]["synthetic"]["5"]  # meshstack's program over N services
    assert synthetic["up"]["written_mb"] > synthetic["floor"]["written_mb"]
    assert synthetic["first_up_over_floor"] > 0
    # The same up on S3 (moto) with the state compressed: the state and the bytes the
    # CLI sends are a small fraction of the plain file backend's.
    s3 = report["UP"]["s3-zstd"]["dev"]
    assert 0 < s3["up"]["state_mb"] < up["up"]["state_mb"] / 10
    assert s3["up"]["written_mb"] < up["up"]["written_mb"] / 10
    assert f"wrote {out}" in printed


def _recorded(program: Path) -> list[dict[str, Any]]:
    """What the program registers under the SDK's mock engine (as the CLI would run it)."""
    out = subprocess.run(
        [sys.executable, str(PROJECT / "tests" / "record_program.py"), str(program), "bench"],
        cwd=program.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    registered: list[dict[str, Any]] = json.loads(out)
    return registered


def test_l3_compares_the_program_with_the_same_objects_registered_other_ways(
    tmp_path: Path,
) -> None:
    projects = write_projects(tmp_path, 5)
    objects = render(synthetic_mesh(5))
    assert list(yaml.safe_load_all((tmp_path / "objects.yaml").read_text())) == objects

    ours = _recorded(projects["meshstack"] / "__main__.py")
    theirs = _recorded(projects["configgroup"] / "__main__.py")

    renderers = {}
    for name, registered in (("meshstack", ours), ("configgroup", theirs)):
        (provider,) = [r for r in registered if r["type"] == "pulumi:providers:kubernetes"]
        rendered_to = str(tmp_path / f"rendered-{name}")
        assert provider["properties"]["renderYamlToDirectory"] == rendered_to
        renderers[name] = f"{provider['urn']}::{provider['name']}-id"
    kubernetes_objects = [r for r in ours if r["type"].startswith("kubernetes:")]
    assert len(kubernetes_objects) == len(objects)
    assert {r["provider"] for r in kubernetes_objects} == {renderers["meshstack"]}
    (group,) = [r for r in theirs if r["type"] == "kubernetes:yaml/v2:ConfigGroup"]
    assert group["properties"]["files"] == [str(istio_crds()), str(tmp_path / "objects.yaml")]
    assert group["provider"] == renderers["configgroup"]
    # The floor sends what meshstack's registry sends, flat; typed goes through the
    # generated classes: both register every object once, with the same types and inputs.
    floor = _recorded(projects["floor"] / "__main__.py")
    typed = _recorded(projects["typed"] / "__main__.py")
    for registered in (floor, typed):
        flat = [r for r in registered if r["type"].startswith("kubernetes:")]
        assert sorted(r["type"] for r in flat) == sorted(r["type"] for r in kubernetes_objects)
        assert sorted(json.dumps(r["properties"], sort_keys=True) for r in flat) == sorted(
            json.dumps(r["properties"], sort_keys=True) for r in kubernetes_objects
        )
    for project in projects.values():
        manifest = yaml.safe_load((project / "Pulumi.yaml").read_text())
        assert manifest["runtime"]["name"] == "python"


def test_l3_runs_offline_with_meshstacks_own_toolchain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = bench_env(tmp_path)
    assert env["PULUMI_BACKEND_URL"] == (tmp_path / "state").as_uri()
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PATH"].split(":")[0].endswith("toolchain/bin")

    monkeypatch.setenv("MESHSTACK_CACHE", str(tmp_path / "empty-cache"))
    why = engine_missing()
    assert why is not None
    assert why.startswith("toolchain incomplete (pulumi, language-python, kubernetes-provider)")


def test_a_failing_cli_call_reports_what_the_cli_said(tmp_path: Path) -> None:
    failing = tmp_path / "pulumi"
    failing.write_text("#!/bin/sh\necho 'error: no stack named bench' >&2\nexit 255\n")
    failing.chmod(0o755)
    env = {**bench_env(tmp_path), "PATH": str(tmp_path)}
    with pytest.raises(CliFailed, match=r"pulumi preview in .* exited 255:\nerror: no stack named"):
        run(["pulumi", "preview"], tmp_path, env)
