"""What the engine receives for the Istio install and the add-ons, under Pulumi mocks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import MOCK_PASSWORD, PROJECT, RecordingMocks
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.spec import ISTIO_VERSION, LocalCharts, MeshSpec
from meshstack.spec.install import OFFICIAL_ISTIO_CHARTS
from meshstack.validation import SpecInvalid

CHART = "kubernetes:helm.sh/v4:Chart"


def everything(mesh: MeshStack) -> pulumi.Output[list[Any]]:
    """An output that resolves once every resource of ``mesh`` is registered."""
    children: list[pulumi.Resource] = [
        *mesh.namespaces.by_name.values(),
        *mesh.workloads.resources,
        *mesh.policy.resources,
    ]
    if mesh.install is not None:
        children += [mesh.install.namespace, *mesh.install.releases.values()]
    if mesh.addons is not None:
        children += list(mesh.addons.releases.values())
    return pulumi.Output.all(*(c.urn for c in children))


def charts(engine: RecordingMocks) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in engine.resources if r.typ == CHART}


@pulumi.runtime.test
def test_dev_charts_reach_the_engine_with_names_versions_repositories_and_values(
    engine: RecordingMocks, stack_specs: dict[str, MeshSpec]
) -> Any:
    mesh = MeshStack("mesh", MeshStackArgs(spec=stack_specs["dev"]))

    def check(_: Any) -> None:
        seen = charts(engine)
        assert set(seen) == {
            "mesh-istio-istio-base",
            "mesh-istio-istio-cni",
            "mesh-istio-istiod",
            "mesh-istio-ztunnel",
            "mesh-istio-istio-ingressgateway",
            "mesh-addons-prometheus",
            "mesh-addons-jaeger",
            "mesh-addons-grafana",
            "mesh-addons-kiali",
        }
        istiod = seen["mesh-istio-istiod"]
        assert istiod["chart"] == "istiod" and istiod["version"] == ISTIO_VERSION
        # dev runs ambient: the node proxy and istio-cni come from their own charts.
        assert seen["mesh-istio-ztunnel"]["chart"] == "ztunnel"
        assert seen["mesh-istio-istio-cni"]["chart"] == "cni"
        assert istiod["repositoryOpts"]["repo"] == OFFICIAL_ISTIO_CHARTS
        assert istiod["namespace"] == "istio-system" and istiod["name"] == "istiod"
        assert istiod["values"]["replicaCount"] == 1  # an integer, as the chart expects
        assert seen["mesh-istio-istio-base"]["values"]["base"]["validationFailurePolicy"] == "Fail"
        kiali = seen["mesh-addons-kiali"]
        assert kiali["chart"] == "kiali-server" and kiali["version"] == "2.27.0"
        services = kiali["values"]["external_services"]
        assert services["prometheus"]["url"] == "http://prometheus.istio-system:9090"
        assert services["grafana"]["enabled"] and services["tracing"]["enabled"]
        assert seen["mesh-addons-grafana"]["values"]["grafana.ini"]["auth.anonymous"]["enabled"]

    return everything(mesh).apply(check)


@pulumi.runtime.test
def test_everything_waits_for_what_it_needs_from_the_crds_down(
    engine: RecordingMocks, stack_specs: dict[str, MeshSpec]
) -> Any:
    mesh = MeshStack("mesh", MeshStackArgs(spec=stack_specs["staging"]))

    def check(_: Any) -> None:
        reg = engine.registrations
        base = reg["mesh-istio-istio-base"].urn
        stable, canary = reg["mesh-istio-istiod-1-30-3"], reg["mesh-istio-istiod-1-30-4"]
        assert base in stable.dependencies and base in canary.dependencies
        gateway = reg["mesh-istio-istio-ingressgateway"]
        assert stable.urn in gateway.dependencies  # injected by the 'stable' tag's revision
        assert reg["mesh-namespaces-namespace-istio-ingress"].urn in gateway.dependencies
        custom = [r for r in engine.resources if r.typ.startswith("kubernetes:networking.istio")]
        custom += [r for r in engine.resources if r.typ.startswith("kubernetes:security.istio")]
        assert custom
        for resource in custom:
            assert base in reg[resource.name].dependencies, resource.name
        deployments = [r.name for r in engine.resources if r.typ == "kubernetes:apps/v1:Deployment"]
        for name in deployments:
            assert {stable.urn, canary.urn} <= set(reg[name].dependencies), name
        assert reg["mesh-istio"].parent == reg["mesh"].urn
        assert gateway.parent == reg["mesh-istio"].urn

    return everything(mesh).apply(check)


@pulumi.runtime.test
def test_prod_protects_the_crds_and_istio_system_and_dev_does_not(
    engine: RecordingMocks, stack_specs: dict[str, MeshSpec]
) -> Any:
    prod = MeshStack("prod", MeshStackArgs(spec=stack_specs["prod"], protect_namespaces=True))
    dev = MeshStack("dev", MeshStackArgs(spec=stack_specs["dev"]))

    def check(_: Any) -> None:
        reg = engine.registrations
        assert reg["prod-istio-istio-base"].protect
        assert reg["prod-istio-namespace-istio-system"].protect
        assert reg["prod-namespaces-namespace-bookinfo"].protect
        assert not reg["prod-istio-istiod"].protect  # istiod may be replaced; CRDs never
        assert not reg["dev-istio-istio-base"].protect
        assert not reg["dev-istio-namespace-istio-system"].protect
        values = charts(engine)["prod-addons-grafana"]["values"]
        assert values["grafana.ini"]["auth.anonymous"]["enabled"] is False
        assert charts(engine)["prod-addons-kiali"]["values"]["auth"]["strategy"] == "token"

    return pulumi.Output.all(everything(prod), everything(dev)).apply(check)


@pulumi.runtime.test
def test_the_grafana_password_reaches_the_engine_only_as_a_secret(
    engine: RecordingMocks, stack_specs: dict[str, MeshSpec]
) -> Any:
    mesh = MeshStack("mesh", MeshStackArgs(spec=stack_specs["prod"]))
    assert mesh.addons is not None and mesh.addons.grafana_admin_password is not None
    password_output = mesh.addons.grafana_admin_password
    password = MOCK_PASSWORD[:24]

    def check(args: list[Any]) -> None:
        _, is_secret = args
        assert is_secret
        reg = engine.registrations
        secret = reg["mesh-addons-secret-istio-system-grafana-admin"]
        assert "stringData" in secret.secret_inputs
        leaks = [name for name, r in reg.items() if password in r.plain_inputs]
        assert leaks == []
        grafana = charts(engine)["mesh-addons-grafana"]["values"]
        assert grafana["admin"]["existingSecret"] == "grafana-admin"
        assert password not in json.dumps(grafana)
        assert secret.urn in reg["mesh-addons-grafana"].dependencies

    return pulumi.Output.all(everything(mesh), password_output.is_secret()).apply(check)


def test_a_missing_local_chart_directory_registers_nothing(
    engine: RecordingMocks, stack_specs: dict[str, MeshSpec]
) -> None:
    install = stack_specs["dev"].install
    assert install is not None
    offline = stack_specs["dev"].model_copy(
        update={
            "install": install.model_copy(
                update={"chart_source": LocalCharts(path="/nonexistent/charts")}
            )
        }
    )
    with pytest.raises(SpecInvalid, match=r"install\.chart_source\.path"):
        MeshStack("offline", MeshStackArgs(spec=offline))
    assert engine.resources == []


PROGRAM_IMPORTS = """
import sys
import pulumi
from pulumi.runtime.mocks import MockMonitor

class Echo(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}, []

pulumi.runtime.set_mocks(Echo(), project="meshstack", stack="dev", preview=True)
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.stacks import load_spec_and_sites
from pathlib import Path

spec, _ = load_spec_and_sites("dev", Path(sys.argv[1]) / "stacks")
MeshStack("mesh", MeshStackArgs(spec=spec, grafana_admin_password="x"))
print(sorted(m for m in sys.modules if m.startswith("pulumi_kubernetes.") and m.count(".") == 2))
"""


def test_the_program_never_imports_the_generated_kubernetes_classes() -> None:
    """Every object is a plain registration (``components/registry.py``): importing one
    generated class, such as ``core.v1.Namespace``, loads all of ``core/v1`` — half a
    second of every ``pulumi up`` and preview, a tenth of dev's no-op ``up``."""
    loaded = subprocess.run(
        [sys.executable, "-c", PROGRAM_IMPORTS, str(PROJECT)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pulumi_kubernetes.core.v1" not in loaded, loaded
    assert "pulumi_kubernetes.helm.v4" in loaded  # the charts' component, and nothing more


@pytest.mark.engine
def test_the_environment_imports_compiled_bytecode() -> None:
    """``make setup`` compiles the dependencies' bytecode: uv writes none, and where
    ``PYTHONDONTWRITEBYTECODE`` is set no run writes it either, so each ``pulumi`` run
    compiled the same sources again (0.8 s of dev's no-op ``up``)."""
    import importlib.util

    import pulumi_kubernetes.helm.v4 as helm

    assert helm.__file__ is not None
    cached = Path(importlib.util.cache_from_source(helm.__file__))
    assert cached.is_file(), f"no bytecode for {helm.__file__}: run make setup"
