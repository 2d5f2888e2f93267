"""The SLO rules reach the Prometheus add-on: a real ``pulumi up`` (render mode) of dev with
two SLOs writes them into the ConfigMap its server loads rule files from, and promtool
accepts those files as Prometheus would load them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from engine_stack import new_stack
from test_slo_rules import promtool

pytestmark = pytest.mark.engine

_WITH_SLOS = """

_shipped = spec


def spec():  # dev, with SLOs on its two user-facing services
    from meshstack.spec import ServiceLevelObjective, SloIndicator

    base = _shipped()
    slos = (
        ServiceLevelObjective(name="availability", service="productpage", namespace="bookinfo"),
        ServiceLevelObjective(
            name="latency",
            service="frontend",
            namespace="hipster-shop",
            indicator=SloIndicator.LATENCY,
            objective=99.0,
            latency_threshold_ms=500,
        ),
    )
    return base.model_copy(update={"policy": base.policy.model_copy(update={"slos": slos})})
"""


def _rendered_config_maps(render_dir: Path) -> dict[str, dict[str, str]]:
    found = {}
    for path in render_dir.rglob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "ConfigMap":
                meta = document["metadata"]
                found[f"{meta.get('namespace')}/{meta['name']}"] = document.get("data") or {}
    return found


def test_an_up_writes_the_slo_rules_where_prometheus_loads_them(tmp_path: Path) -> None:
    stack = new_stack(tmp_path, "dev")
    dev = stack.project / "stacks" / "dev.py"
    dev.write_text(dev.read_text() + _WITH_SLOS)
    stack.up()
    assert stack.render_dir is not None
    data = _rendered_config_maps(stack.render_dir)["istio-system/prometheus"]
    recording = yaml.safe_load(data["recording_rules.yml"])
    alerting = yaml.safe_load(data["alerting_rules.yml"])
    assert [g["name"] for g in recording["groups"]] == [
        "slo-bookinfo-productpage-availability-recording",
        "slo-hipster-shop-frontend-latency-recording",
    ]
    assert len(alerting["groups"]) == 2
    assert "prometheus.yml" in data  # the sample's own configuration is kept
    files = []
    for key in ("recording_rules.yml", "alerting_rules.yml"):
        (tmp_path / key).write_text(data[key])
        files.append(str(tmp_path / key))
    done = subprocess.run(
        [promtool(), "check", "rules", *files], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


_FOR_THE_OPERATOR = """

_with_slos = spec


def spec():  # those SLOs, evaluated by a Prometheus the Prometheus Operator runs
    from meshstack.spec import SloRulesAsPrometheusRules

    base = _with_slos()
    rules = SloRulesAsPrometheusRules(labels={"release": "kube-prometheus-stack"})
    return base.model_copy(update={"policy": base.policy.model_copy(update={"slo_rules": rules})})
"""


def _rendered(render_dir: Path, kind: str) -> list[dict[str, object]]:
    return [
        document
        for path in render_dir.rglob("*.yaml")
        for document in yaml.safe_load_all(path.read_text())
        if isinstance(document, dict) and document.get("kind") == kind
    ]


def test_an_up_hands_the_rules_to_the_operator_as_prometheus_rules(tmp_path: Path) -> None:
    """The engine and the Kubernetes provider register the PrometheusRules the render
    promises (``test_slo_operator.py`` has the Operator's CRD judge them); the add-on's
    ConfigMap then carries no rule files."""
    from meshstack.render import render
    from meshstack.stacks import resolve_stack

    stack = new_stack(tmp_path, "dev")
    dev = stack.project / "stacks" / "dev.py"
    dev.write_text(dev.read_text() + _WITH_SLOS + _FOR_THE_OPERATOR)
    stack.up()
    assert stack.render_dir is not None
    spec, problems = resolve_stack("dev", stack.project)
    assert problems == []
    expected = [o for o in render(spec) if o["kind"] == "PrometheusRule"]
    registered = _rendered(stack.render_dir, "PrometheusRule")
    assert len(expected) == 2
    by_name = {o["metadata"]["name"]: o for o in registered}  # type: ignore[index]
    for obj in expected:
        got = by_name[obj["metadata"]["name"]]
        assert got["spec"] == obj["spec"]
        assert got["metadata"]["namespace"] == obj["metadata"]["namespace"]  # type: ignore[index]
    data = _rendered_config_maps(stack.render_dir)["istio-system/prometheus"]
    for key in ("recording_rules.yml", "alerting_rules.yml"):  # the sample's own: empty
        assert not (yaml.safe_load(data.get(key) or "{}") or {}).get("groups"), key
