"""The Istio install plan: which charts, versions, sources and values each release gets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine import istio_module_dir
from meshstack.chart_files import local_chart_problems
from meshstack.render.install import istio_releases
from meshstack.spec import (
    ISTIO_VERSION,
    ChartLayout,
    CniInstall,
    ControlPlane,
    IstioInstall,
    LocalCharts,
    MeshConfig,
    MeshSpec,
    OciRegistry,
    TracingProvider,
)
from meshstack.spec.install import (
    BASE_TYPED_KEYS,
    CNI_TYPED_KEYS,
    GATEWAY_TYPED_KEYS,
    ISTIOD_TYPED_KEYS,
    OFFICIAL_ISTIO_CHARTS,
    ZTUNNEL_TYPED_KEYS,
    Autoscaling,
    GatewayInstall,
    RevisionTag,
)
from meshstack.spec.observability import OutboundPolicy
from meshstack.spec.paths import flattened
from meshstack.spec.workloads import Resources


def by_name(install: IstioInstall) -> dict[str, Any]:
    return {r.name: r for r in istio_releases(install)}


def test_the_default_install_is_base_then_istiod_then_the_ingress_gateway() -> None:
    releases = istio_releases(IstioInstall())
    assert [(r.name, r.chart.chart, r.after) for r in releases] == [
        ("istio-base", "base", ()),
        ("istiod", "istiod", ("istio-base",)),
        ("istio-ingressgateway", "gateway", ("istiod",)),
    ]
    assert {r.chart.version for r in releases} == {ISTIO_VERSION}
    assert {r.chart.repository for r in releases} == {OFFICIAL_ISTIO_CHARTS}
    assert [r.namespace for r in releases] == ["istio-system", "istio-system", "istio-ingress"]


def test_the_webhook_failure_policy_is_pinned_in_base_and_istiod() -> None:
    releases = by_name(IstioInstall())
    assert releases["istio-base"].values["base"]["validationFailurePolicy"] == "Fail"
    assert releases["istiod"].values["base"]["validationFailurePolicy"] == "Fail"


def test_istiod_values_use_the_top_level_keys_of_istio_1_24_and_later() -> None:
    install = IstioInstall(
        mesh_config=MeshConfig(
            tracing=TracingProvider(), outbound_traffic_policy=OutboundPolicy.REGISTRY_ONLY
        ),
        control_planes=(ControlPlane(replicas=3),),
    )
    values = by_name(install)["istiod"].values
    assert "pilot" not in values
    assert values["replicaCount"] == 3 and values["autoscaleEnabled"] is False
    mesh = values["meshConfig"]
    assert mesh["accessLogFile"] == "/dev/stdout"
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert mesh["extensionProviders"] == [
        {
            "name": "otel-tracing",
            "opentelemetry": {
                "service": "jaeger-collector.istio-system.svc.cluster.local",
                "port": 4317,
            },
        }
    ]
    assert mesh["defaultProviders"] == {"metrics": ["prometheus"], "tracing": ["otel-tracing"]}


def _owner(leaf: str, typed: Mapping[str, str]) -> str | None:
    return next((k for k in typed if leaf == k or leaf.startswith(f"{k}.")), None)


def test_the_typed_chart_keys_are_exactly_what_rendering_writes() -> None:
    """The one list per chart that validation guards the escape hatches with
    (``spec.install.*_TYPED_KEYS``) and the values rendering writes from typed fields never drift:
    every leaf rendering writes has its typed key, and every typed key is written by some
    install (a full one and a plain one between them)."""
    full = IstioInstall(
        control_planes=(
            ControlPlane(
                revision="blue",
                autoscaling=Autoscaling(),
                resources=Resources(cpu_request="100m"),
            ),
        ),
        default_revision="blue",
        revision_tags=(RevisionTag(name="stable", revision="blue"),),
        mesh_config=MeshConfig(
            default_proxy_resources=Resources(cpu_request="10m"),
            tracing=TracingProvider(),
        ),
        gateways=(GatewayInstall(autoscaling=Autoscaling(), resources=Resources(cpu_limit="1")),),
        ambient=True,
        crd_stack="x-crds",
    )
    typed_keys = {
        "base": BASE_TYPED_KEYS,
        "cni": CNI_TYPED_KEYS,
        "istiod": ISTIOD_TYPED_KEYS,
        "ztunnel": ZTUNNEL_TYPED_KEYS,
        "gateway": GATEWAY_TYPED_KEYS,
    }
    written: dict[str, set[str]] = {role: set() for role in typed_keys}
    for install in (full, IstioInstall()):
        for release in istio_releases(install):
            if release.role in written:
                written[release.role] |= set(flattened(release.values))
    for role, typed in typed_keys.items():
        assert {leaf for leaf in written[role] if _owner(leaf, typed) is None} == set(), role
        assert {
            k for k in typed if not any(_owner(leaf, {k: ""}) for leaf in written[role])
        } == set(), role


def test_the_escape_hatch_reaches_the_chart_merged_over_typed_values() -> None:
    install = IstioInstall(
        control_planes=(ControlPlane(values={"env": {"PILOT_TRACE_SAMPLING": "5"}}),)
    )
    values = by_name(install)["istiod"].values
    assert values["env"] == {
        "BLOCKED_CIDRS_IN_JWKS_URIS": "127.0.0.0/8,169.254.0.0/16,::1/128,fe80::/10",
        "PILOT_TRACE_SAMPLING": "5",
    }
    assert values["meshConfig"]["accessLogFile"] == "/dev/stdout"


def test_an_oci_source_names_each_chart_under_the_registry_path() -> None:
    install = IstioInstall(chart_source=OciRegistry(url="oci://charts.meshstack.test/istio/"))
    istiod = by_name(install)["istiod"]
    assert istiod.chart.chart == "oci://charts.meshstack.test/istio/istiod"
    assert istiod.chart.version == ISTIO_VERSION and istiod.chart.repository is None


def test_cni_goes_between_base_and_istiod_and_turns_istiod_cni_on() -> None:
    releases = by_name(IstioInstall(cni=CniInstall()))
    assert releases["istio-cni"].after == ("istio-base",)
    assert releases["istiod"].after == ("istio-base", "istio-cni")
    assert releases["istiod"].values["cni"] == {"enabled": True}


def test_staging_runs_a_control_plane_canary_beside_the_stable_revision(
    stack_specs: dict[str, MeshSpec],
) -> None:
    install = stack_specs["staging"].install
    assert install is not None
    releases = by_name(install)
    stable, canary = releases["istiod-1-30-3"], releases["istiod-1-30-4"]
    assert (stable.chart.version, stable.values["revision"]) == ("1.30.3", "1-30-3")
    assert (canary.chart.version, canary.values["revision"]) == (ISTIO_VERSION, "1-30-4")
    assert stable.values["revisionTags"] == ["stable"]
    assert canary.values["revisionTags"] == ["canary"]
    assert releases["istio-base"].chart.version == ISTIO_VERSION
    # gateways follow the 'stable' tag, so they wait for the revision behind it
    assert releases["istio-ingressgateway"].after == ("istiod-1-30-3",)
    assert releases["istio-ingressgateway"].values["revision"] == "stable"


def test_prod_installs_a_protected_highly_available_control_plane(
    stack_specs: dict[str, MeshSpec],
) -> None:
    install = stack_specs["prod"].install
    assert install is not None and install.protect
    releases = by_name(install)
    assert releases["istio-base"].protect
    istiod = releases["istiod"].values
    assert istiod["autoscaleEnabled"] and istiod["autoscaleMin"] >= 3
    assert istiod["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert istiod["global"]["proxy"]["resources"]["limits"]["memory"] == "512Mi"
    assert "istio-cni" in releases
    assert releases["istio-ingressgateway"].values["autoscaling"]["minReplicas"] == 3


def test_dev_is_demo_sized(stack_specs: dict[str, MeshSpec]) -> None:
    install = stack_specs["dev"].install
    assert install is not None and not install.protect
    releases = by_name(install)
    assert releases["istiod"].values["replicaCount"] == 1
    assert releases["istio-ingressgateway"].values["service"]["type"] == "NodePort"


# --- the values we set exist in the charts of the pinned Istio source -------------------


@pytest.fixture(scope="module")
def istio_charts() -> Path:
    return istio_module_dir() / "manifests" / "charts"


def chart_defaults(chart_dir: Path) -> dict[str, Any]:
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    assert isinstance(values, dict)
    return values.get("_internal_defaults_do_not_set", values)


def test_a_local_copy_of_istios_source_tree_serves_every_chart(istio_charts: Path) -> None:
    install = IstioInstall(
        chart_source=LocalCharts(path=str(istio_charts), layout=ChartLayout.ISTIO_SOURCE),
        cni=CniInstall(),
    )
    assert local_chart_problems(install) == []
    istiod = by_name(install)["istiod"]
    assert istiod.chart.chart.endswith("istio-control/istio-discovery")
    assert istiod.chart.version is None


def test_a_local_directory_without_the_charts_is_reported_with_its_field_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "Chart.yaml").write_text("name: base\n")
    install = IstioInstall(chart_source=LocalCharts(path=str(tmp_path)))
    problems = local_chart_problems(install)
    assert [p.path for p in problems] == ["install.chart_source.path"] * 2
    assert "istiod" in problems[0].message and "istio-ingressgateway" in problems[1].message


def test_a_local_directory_of_released_charts_at_another_version_is_refused(
    tmp_path: Path,
) -> None:
    """A version that points nowhere: the install says 1.30.4, the pulled charts are 1.29.2,
    and the cluster would get 1.29's charts while every figure said 1.30."""
    for chart in ("base", "istiod", "gateway"):
        (tmp_path / chart).mkdir()
        (tmp_path / chart / "Chart.yaml").write_text(f"name: {chart}\nversion: 1.29.2\n")
    install = IstioInstall(chart_source=LocalCharts(path=str(tmp_path)))
    problems = local_chart_problems(install)
    assert [p.path for p in problems] == ["install.chart_source.path"] * 3
    assert all("is version '1.29.2', not '1.30.4'" in p.message for p in problems)
    at_that_version = install.model_copy(update={"version": "1.29.2"})
    assert local_chart_problems(at_that_version) == []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_top_level_value_we_set_is_a_key_of_the_pinned_chart(
    stack: str, stack_specs: dict[str, MeshSpec], istio_charts: Path
) -> None:
    install = stack_specs[stack].install
    assert install is not None
    local = install.model_copy(
        update={
            "chart_source": LocalCharts(path=str(istio_charts), layout=ChartLayout.ISTIO_SOURCE)
        }
    )
    for release in istio_releases(local):
        known = chart_defaults(Path(release.chart.chart))
        unknown = sorted(set(release.values) - set(known))
        assert unknown == [], f"{release.name}: {unknown} are not values of the chart"
    istiod_defaults = chart_defaults(istio_charts / "istio-control" / "istio-discovery")
    assert "validationFailurePolicy" in (
        (istio_charts / "istio-control" / "istio-discovery" / "values.yaml").read_text()
    )
    assert {"autoscaleMin", "autoscaleMax", "revisionTags", "meshConfig"} <= set(istiod_defaults)


def test_istiod_issues_identities_in_the_trust_domain_the_principals_are_written_in() -> None:
    """``MeshSpec.trust_domain`` roots every principal meshstack writes; istiod must get it
    (``meshConfig.trustDomain``) or, under default-deny, every call is a 403."""
    from meshstack.render import stack_releases

    spec = MeshSpec(
        stack="t",
        namespaces=(),
        trust_domain="corp.example",
        trust_domain_aliases=("cluster.local",),
        install=IstioInstall(),
    )
    (istiod,) = [r for r in stack_releases(spec) if r.name == "istiod"]
    assert istiod.values["meshConfig"]["trustDomain"] == "corp.example"
    assert istiod.values["meshConfig"]["trustDomainAliases"] == ["cluster.local"]
