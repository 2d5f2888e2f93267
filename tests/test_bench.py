"""``make bench`` keeps working: every tier runs and reports on the same objects.

No figure is asserted (speed is measured by the benchmark, never by a test); this only
keeps the harness from rotting between the occasions someone runs it.
"""

from __future__ import annotations

import importlib.metadata
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
from bench_engine import offline_env, pulumi_cli, run_cli, write_projects

COMPONENTS = 4  # MeshStack and its namespaces, workloads and policy components


def test_every_tier_reports_the_same_objects_and_a_growth_factor(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    printed = subprocess.run(
        [sys.executable, "scripts/bench.py", "--sizes", "5,10", "--runs", "1", "--out", str(out)],
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
    assert "skipped" in report["L3"] or "cli" in report["L3"]
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


def test_l3_compares_the_program_with_a_configgroup_of_the_same_objects(tmp_path: Path) -> None:
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
    assert group["properties"]["files"] == [str(tmp_path / "objects.yaml")]
    assert group["provider"] == renderers["configgroup"]
    for project in projects.values():
        manifest = yaml.safe_load((project / "Pulumi.yaml").read_text())
        assert manifest["runtime"]["name"] == "python"


def test_l3_runs_offline_and_only_with_the_sdks_own_cli_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = offline_env(tmp_path)
    assert env["PULUMI_BACKEND_URL"] == (tmp_path / "state").as_uri()
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"

    other = tmp_path / "bin" / "pulumi"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho v3.0.0\n")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", str(other.parent))
    cli, why = pulumi_cli()
    assert cli is None
    assert why == f"pulumi at {other} is v3.0.0, the SDK is {importlib.metadata.version('pulumi')}"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert pulumi_cli() == (None, "no pulumi CLI on PATH (see the real-engine issue)")


def test_a_failing_cli_call_reports_what_the_cli_said(tmp_path: Path) -> None:
    failing = tmp_path / "pulumi"
    failing.write_text("#!/bin/sh\necho 'error: no stack named bench' >&2\nexit 255\n")
    failing.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"pulumi preview in .* failed:\nerror: no stack named"):
        run_cli(str(failing), ["preview"], tmp_path, offline_env(tmp_path))
