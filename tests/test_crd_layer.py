"""The CRD layer stack (``IstioInstall.crd_stack``): what each half of the split registers,
what the mesh stack checks before it registers anything, and the mistakes it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import PROJECT, RecordingMocks
from meshstack.components import CrdLayerArgs, MeshCrdLayer, MeshStack, MeshStackArgs
from meshstack.crd_layer import OUTPUT, crd_layer_outputs, crd_layer_problems, holder_problems
from meshstack.multicluster import cluster_views
from meshstack.render.install import base_values, crd_layer_release, istio_releases
from meshstack.spec import IstioInstall, MeshSpec
from meshstack.stack_config import read_settings
from meshstack.stacks import load_spec
from meshstack.validation import validate

CHART = "kubernetes:helm.sh/v4:Chart"
MESHSTACK = str(Path(sys.executable).parent / "meshstack")


def with_install(spec: MeshSpec, **changes: Any) -> MeshSpec:
    assert spec.install is not None
    return spec.model_copy(update={"install": spec.install.model_copy(update=changes)})


def test_dev_keeps_its_crds_in_dev_crds_and_the_stack_file_says_so(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    assert dev.install is not None and dev.install.crd_stack == "dev-crds"
    settings, problems = read_settings({"crdsOf": "dev", "renderDir": "build/manifests/dev"})
    assert problems == [] and settings.crds_of == "dev"
    assert "meshstack:crdsOf: dev" in (PROJECT / "Pulumi.dev-crds.yaml").read_text()


def test_each_half_renders_its_resource_scope_of_the_base_chart(
    stack_specs: dict[str, MeshSpec],
) -> None:
    install = stack_specs["dev"].install
    assert install is not None
    mesh_base = next(r for r in istio_releases(install) if r.role == "base")
    assert mesh_base.values["global"]["resourceScope"] == "namespace"
    assert crd_layer_release(install).values["global"]["resourceScope"] == "cluster"
    # Without a CRD stack the chart renders everything, as before.
    assert "resourceScope" not in base_values(IstioInstall())["global"]


def test_the_mesh_check_names_what_to_run_when_the_layer_is_missing_or_stale(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    [unreadable] = crd_layer_problems(dev, None, "no stack named 'dev-crds' found")
    assert unreadable.path == "install.crd_stack"
    assert "no stack named 'dev-crds' found" in unreadable.message
    assert "pulumi up -s dev-crds" in unreadable.message
    assert "meshstack:crdsOf dev" in unreadable.message

    [not_a_layer] = crd_layer_problems(dev, {"namespaces": ["bookinfo"]})
    assert f"exports no {OUTPUT!r}" in not_a_layer.message

    current = crd_layer_outputs(dev)
    assert crd_layer_problems(dev, {OUTPUT: current}) == []
    stale = {**current, "istio_version": "1.28.0", "of": "staging"}
    problems = crd_layer_problems(dev, {OUTPUT: stale})
    assert len(problems) == 2  # every problem at once
    assert "the CRD layer of 'staging', not of 'dev'" in problems[0].message
    assert "holds the CRDs of Istio '1.28.0'" in problems[1].message
    assert "pulumi up -s dev-crds" in problems[1].message


def test_what_the_layer_holds_follows_the_spec(stack_specs: dict[str, MeshSpec]) -> None:
    dev = stack_specs["dev"]
    assert dev.install is not None
    outputs = crd_layer_outputs(dev)
    assert outputs["of"] == "dev" and outputs["istio_version"] == dev.install.version
    assert outputs["crd_descriptions"] is False
    assert outputs["gateway_api_version"] == dev.gateway_api.version
    upgraded = with_install(dev, version="1.28.1")
    assert crd_layer_problems(upgraded, {OUTPUT: outputs}) != []


def test_a_crd_stack_needs_resource_scoped_charts_and_another_stack(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    old = validate(with_install(dev, version="1.27.3"))
    assert [p.path for p in old if p.path == "install.crd_stack"] == ["install.crd_stack"]
    assert any("raise install.version to 1.28.0" in p.message for p in old)
    itself = validate(with_install(dev, crd_stack="dev"))
    assert any(p.path == "install.crd_stack" and "'dev-crds'" in p.message for p in itself)
    assert holder_problems(dev, "dev-crds") == []
    [wrong] = holder_problems(dev, "staging-crds")
    assert wrong.path == "meshstack:crdsOf" and "crd_stack='dev-crds', not 'staging-crds'" in (
        wrong.message
    )


@pulumi.runtime.test
def test_the_mesh_registers_no_crd_and_the_layer_registers_them_all(
    engine: RecordingMocks, stack_specs: dict[str, MeshSpec]
) -> Any:
    dev = stack_specs["dev"]
    mesh = MeshStack("mesh", MeshStackArgs(spec=dev, base_dir=PROJECT))
    layer = MeshCrdLayer("crds", CrdLayerArgs(dev, base_dir=PROJECT))
    assert mesh.gateway_api is None and layer.gateway_api is not None

    def check(_: Any) -> None:
        charts = {r.name: r.inputs for r in engine.resources if r.typ == CHART}
        assert charts["mesh-istio-istio-base"]["values"]["global"]["resourceScope"] == ("namespace")
        assert charts["crds-istio-base"]["values"]["global"]["resourceScope"] == "cluster"
        gateway_api = [r.name for r in engine.resources if "gateway-api" in r.name]
        assert gateway_api and all(n.startswith("crds-gateway-api") for n in gateway_api)

    assert mesh.install is not None
    children = [
        *(r.urn for r in mesh.install.releases.values()),
        layer.istio.urn,
        *(m.urn for m in layer.gateway_api.manifests),
    ]
    return pulumi.Output.all(*children).apply(check)


def validate_command(stack: str, project: Path) -> subprocess.CompletedProcess[str]:
    """``meshstack validate`` as a user runs it."""
    command = [MESHSTACK, "--project", str(project), "validate", stack]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_validate_of_a_crd_layer_stack_checks_the_spec_it_holds(tmp_path: Path) -> None:
    shown = validate_command("dev-crds", PROJECT)
    assert shown.returncode == 0, shown.stderr
    assert "stack 'dev-crds' (the CRD layer of 'dev') is valid" in shown.stdout

    (tmp_path / "stacks").symlink_to(PROJECT / "stacks")
    (tmp_path / "Pulumi.yaml").write_text((PROJECT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.other.yaml").write_text("config:\n  meshstack:crdsOf: dev\n")
    refused = validate_command("other", tmp_path)
    assert refused.returncode != 0
    assert "crd_stack='dev-crds', not 'other'" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr

    # The spec's overrides live in the mesh stack's config only: one place, one spec.
    (tmp_path / "Pulumi.other.yaml").write_text(
        "config:\n  meshstack:crdsOf: dev\n  meshstack:replicas:\n    productpage: 2\n"
    )
    mixed = validate_command("other", tmp_path)
    assert mixed.returncode != 0
    assert "meshstack:replicas: a CRD layer stack takes its spec's config from Pulumi.dev.yaml" in (
        mixed.stdout + mixed.stderr
    )


@pytest.mark.parametrize("value", ["", 3])
def test_crds_of_must_name_a_stack(value: object) -> None:
    settings, [problem] = read_settings({"crdsOf": value})
    assert problem.path == "meshstack:crdsOf" and settings.crds_of == ""


def test_a_layer_of_several_clusters_holds_each_clusters_crds(tmp_path: Path) -> None:
    """multi keeps both clusters' CRDs in multi-crds: the layer says which clusters it
    holds, a layer of other clusters is refused with what to run, and the layer's own
    config may hold the kubeconfigs it deploys with, but no other key of the spec."""
    multi = load_spec("multi", PROJECT / "stacks")
    assert multi.install is not None and multi.install.crd_stack == "multi-crds"
    outputs = crd_layer_outputs(multi)
    assert outputs["clusters"] == ["east", "west"]
    assert crd_layer_problems(multi, {OUTPUT: outputs}) == []
    [stale] = crd_layer_problems(multi, {OUTPUT: {**outputs, "clusters": ["east"]}})
    assert "holds the CRDs of clusters ['east'], this spec's are ['east', 'west']" in stale.message
    assert "pulumi up -s multi-crds" in stale.message
    # Each cluster's view leaves its CRDs to the layer.
    for view in cluster_views(multi).values():
        assert view.install is not None
        assert base_values(view.install)["global"]["resourceScope"] == "namespace"

    shown = validate_command("multi-crds", PROJECT)
    assert shown.returncode == 0, shown.stderr
    (tmp_path / "stacks").symlink_to(PROJECT / "stacks")
    (tmp_path / "Pulumi.yaml").write_text((PROJECT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.multi-crds.yaml").write_text(
        "config:\n  meshstack:crdsOf: multi\n"
        "  meshstack:kubeconfigEast:\n    secure: AAABAKGfN0E=\n"
        "  meshstack:caRootCert: ROOT\n"
    )
    mixed = validate_command("multi-crds", tmp_path)
    said = mixed.stdout + mixed.stderr
    assert mixed.returncode != 0, said
    assert "meshstack:caRootCert: a CRD layer stack takes its spec's config" in said, said
    assert "kubeconfigEast" not in said.split("here only")[0], said
    assert "Traceback" not in said


def test_a_primary_remote_layer_gives_the_remote_its_crds_and_a_mesh_may_keep_its_own() -> None:
    """multi_remote's layer (multi_remote-crds) installs the CRDs in the remote too: west's
    layer release is the base chart's cluster-scoped half with the remote profile (which,
    unlike the mesh stack's half, holds the CRDs). Without a crd_stack each cluster's base
    chart renders every scope, so a mesh of several clusters may still keep its CRDs."""
    remote = load_spec("multi_remote", PROJECT / "stacks")
    assert remote.install is not None and remote.install.crd_stack == "multi_remote-crds"
    assert crd_layer_outputs(remote)["clusters"] == ["east", "west"]
    west = cluster_views(remote)["west"].install
    assert west is not None
    layer_values = crd_layer_release(west).values
    assert layer_values["global"]["resourceScope"] == "cluster"
    assert layer_values["global"]["profile"] == "remote"
    assert base_values(west)["global"]["resourceScope"] == "namespace"

    own = with_install(remote, crd_stack=None)
    for view in cluster_views(own).values():
        assert view.install is not None
        assert "resourceScope" not in base_values(view.install)["global"]
