"""``make bench`` keeps working: every tier runs and reports on the same objects.

No figure is asserted (speed is measured by the benchmark, never by a test); this only
keeps the harness from rotting between the occasions someone runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT
from meshstack.render import render
from meshstack.synthetic import synthetic_mesh

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
    assert report["L3"].startswith("skipped")
    assert f"wrote {out}" in printed
