"""``meshstack:istioCharts`` points a stack at a chart mirror; bad values name the config key."""

from __future__ import annotations

from conftest import PROJECT
from engine import istio_module_dir
from meshstack.cli import chart_plan, main
from meshstack.overrides import apply_overrides
from meshstack.spec import LocalCharts, MeshSpec, OciRegistry
from meshstack.stacks import resolve_stack


def test_an_oci_mirror_replaces_the_official_repository(stack_specs: dict[str, MeshSpec]) -> None:
    spec, problems = apply_overrides(
        stack_specs["prod"],
        {"istioCharts": {"kind": "oci", "url": "oci://mirror.meshstack.test/istio"}},
    )
    assert problems == []
    assert spec.install is not None
    assert spec.install.chart_source == OciRegistry(url="oci://mirror.meshstack.test/istio")
    plan = {r["release"]: r for r in chart_plan(spec)}
    assert plan["istiod"]["chart"] == "oci://mirror.meshstack.test/istio/istiod"


def test_a_bad_chart_source_is_reported_at_its_config_key(stack_specs: dict[str, MeshSpec]) -> None:
    _, problems = apply_overrides(stack_specs["dev"], {"istioCharts": {"kind": "local"}})
    assert [p.path for p in problems] == ["meshstack:istioCharts.path"]
    _, problems = apply_overrides(stack_specs["dev"], {"istioCharts": {"kind": "ftp"}})
    assert problems and problems[0].path == "meshstack:istioCharts"


def test_the_pinned_istio_source_tree_works_as_a_local_chart_source() -> None:
    charts = istio_module_dir() / "manifests" / "charts"
    source = {"kind": "local", "path": str(charts), "layout": "istio-source"}
    spec, problems = resolve_stack("dev", PROJECT, {"istioCharts": source})
    assert problems == []
    assert isinstance(spec.install and spec.install.chart_source, LocalCharts)


def test_a_local_chart_source_that_is_missing_fails_validation() -> None:
    spec, problems = resolve_stack(
        "dev", PROJECT, {"istioCharts": {"kind": "local", "path": "nowhere"}}
    )
    assert [p.path for p in problems] == ["install.chart_source.path"]
    del spec


def test_meshstack_charts_prints_the_release_plan(capsys: object) -> None:
    assert main(["--project", str(PROJECT), "charts", "prod"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "release: istio-base" in out and "protect: true" in out
    assert "release: kiali" in out and "strategy: token" in out
