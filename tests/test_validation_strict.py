"""Validation as strict as Istio's webhook, the API server and common sense (issue 14 §2).

Each example is a class of mistake that the code before this file accepted: a regex
Envoy cannot compile, a route that can never match, two objects that would overwrite each
other, a value the API server would refuse, a config key that names nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import route, shop
from conftest import PROJECT
from meshstack.cli import main
from meshstack.overrides import apply_overrides
from meshstack.spec import (
    App,
    AuthorizationPolicy,
    AuthorizationRule,
    Destination,
    DestinationPolicy,
    ExternalService,
    Gateway,
    GatewayServer,
    HttpMatch,
    HttpRoute,
    MeshSpec,
    Namespace,
    RequestOperation,
    RequestSource,
    Resources,
    ServicePort,
    StringMatch,
    Subset,
    Version,
    VirtualService,
    Workload,
)
from meshstack.validation import validate


def _two_routes(first: HttpRoute, second: HttpRoute) -> MeshSpec:
    return shop(
        virtual_services=(
            VirtualService(name="api", namespace="shop", hosts=("api",), http=(first, second)),
        )
    )


def _v1(**match: StringMatch) -> HttpRoute:
    return HttpRoute(
        match=(HttpMatch(**match),) if match else (),
        destinations=(Destination(service="api", subset="v1"),),
    )


def _with_version(image: str) -> MeshSpec:
    app = App(
        name="tools",
        namespace="shop",
        workloads=(Workload(name="tool", versions=(Version(image=image),)),),
    )
    spec = shop()
    return spec.model_copy(update={"apps": (*spec.apps, app)})


def _with_resources(**quantities: str) -> MeshSpec:
    app = App(
        name="tools",
        namespace="shop",
        workloads=(
            Workload(
                name="tool", versions=(Version(image="tool:1"),), resources=Resources(**quantities)
            ),
        ),
    )
    spec = shop()
    return spec.model_copy(update={"apps": (*spec.apps, app)})


def _allow(name: str) -> AuthorizationPolicy:
    return AuthorizationPolicy(
        name=name,
        namespace="shop",
        workload="api",
        rules=(AuthorizationRule(sources=(RequestSource(service_accounts=("shop/web",)),)),),
    )


def _subsets(*subsets: Subset) -> MeshSpec:
    return shop(
        destination_policies=(DestinationPolicy(service="api", namespace="shop", subsets=subsets),)
    )


def _external(*hosts: str, resolution: str = "DNS") -> MeshSpec:
    return shop(
        external_services=(
            ExternalService(
                name="payments",
                namespace="shop",
                hosts=hosts,
                ports=(ServicePort(number=443, protocol="tls"),),
                resolution=resolution,
            ),
        )
    )


STRICT: dict[str, tuple[Callable[[], MeshSpec], str, str]] = {
    "regex Envoy cannot compile": (
        lambda: _two_routes(_v1(uri=StringMatch(regex="/api/(v1")), _v1()),
        "policy.virtual_services[api].http[0].match[0].uri.regex",
        "not a valid RE2 regular expression",
    ),
    "regex with a look-ahead, which RE2 lacks": (
        lambda: _two_routes(_v1(uri=StringMatch(regex="/api(?=/v1)")), _v1()),
        "policy.virtual_services[api].http[0].match[0].uri.regex",
        "not a valid RE2 regular expression",
    ),
    "header regex with a back-reference": (
        lambda: shop(
            virtual_services=(
                VirtualService(
                    name="api",
                    namespace="shop",
                    hosts=("api",),
                    http=(
                        HttpRoute(
                            match=(HttpMatch(headers={"x-id": StringMatch(regex=r"(a)\1")}),),
                            destinations=(Destination(service="api", subset="v1"),),
                        ),
                        _v1(),
                    ),
                ),
            )
        ),
        "policy.virtual_services[api].http[0].match[0].headers[x-id].regex",
        "not a valid RE2 regular expression",
    ),
    "VirtualService without routes": (
        lambda: shop(
            virtual_services=(
                VirtualService(name="api", namespace="shop", hosts=("api",), http=()),
            )
        ),
        "policy.virtual_services[api].http",
        "at least one route",
    ),
    "route after a catch-all": (
        lambda: _two_routes(_v1(), _v1(uri=StringMatch(prefix="/v2"))),
        "policy.virtual_services[api].http[1]",
        "can never match: http[0] above it takes every request",
    ),
    "route after a prefix '/' catch-all": (
        lambda: _two_routes(_v1(uri=StringMatch(prefix="/")), _v1()),
        "policy.virtual_services[api].http[1]",
        "can never match: http[0] above it takes every request",
    ),
    "route after the same match": (
        lambda: _two_routes(_v1(uri=StringMatch(prefix="/v2")), _v1(uri=StringMatch(prefix="/v2"))),
        "policy.virtual_services[api].http[1]",
        "can never match: http[0] above it has the same match",
    ),
    "two routes with one name": (
        lambda: _two_routes(
            _v1(uri=StringMatch(prefix="/a")).model_copy(update={"name": "main"}),
            _v1().model_copy(update={"name": "main"}),
        ),
        "policy.virtual_services[api].http[1].name",
        "route name 'main' is already used by http[0]",
    ),
    "two VirtualServices with one name": (
        lambda: shop(
            virtual_services=(
                route(Destination(service="api", subset="v1")),
                route(Destination(service="web"), hosts=("web",)),
            )
        ),
        "policy.virtual_services[1]",
        "a second VirtualService shop/api",
    ),
    "two AuthorizationPolicies with one name": (
        lambda: shop(authorization_policies=(_allow("allow-web"), _allow("allow-web"))),
        "policy.authorization_policies[1]",
        "a second AuthorizationPolicy shop/allow-web",
    ),
    "two Gateways with one name": (
        lambda: shop(
            gateways=(
                Gateway(
                    name="edge",
                    namespace="shop",
                    servers=(GatewayServer(port=80, hosts=("a.test",)),),
                ),
                Gateway(
                    name="edge",
                    namespace="shop",
                    servers=(GatewayServer(port=80, hosts=("b.test",)),),
                ),
            )
        ),
        "policy.gateways[1]",
        "a second Gateway shop/edge",
    ),
    "subset declared twice": (
        lambda: _subsets(Subset(name="v1", version="v1"), Subset(name="v1", version="v2")),
        "policy.destination_policies[0].subsets[1].name",
        "subset 'v1' is declared twice",
    ),
    "two subsets selecting the same pods": (
        lambda: _subsets(Subset(name="v1", version="v1"), Subset(name="stable", version="v1")),
        "policy.destination_policies[0].subsets[1].version",
        "selects the same pods as subset 'v1'",
    ),
    "CPU quantity with a space": (
        lambda: _with_resources(cpu_request="100 m"),
        "apps[tools].workloads[tool].resources.cpu_request",
        "a Kubernetes quantity",
    ),
    "memory quantity in an unknown unit": (
        lambda: _with_resources(memory_limit="64MB"),
        "apps[tools].workloads[tool].resources.memory_limit",
        "a Kubernetes quantity",
    ),
    "image with an upper-case repository": (
        lambda: _with_version("Tools/Tool:1"),
        "apps[tools].workloads[tool].versions[v1].image",
        "an image reference",
    ),
    "image with an empty tag": (
        lambda: _with_version("tool:"),
        "apps[tools].workloads[tool].versions[v1].image",
        "an image reference",
    ),
    "image with a malformed digest": (
        lambda: _with_version("tool@sha256:abc"),
        "apps[tools].workloads[tool].versions[v1].image",
        "an image reference",
    ),
    "label key the API server refuses": (
        lambda: shop().model_copy(
            update={
                "namespaces": (
                    Namespace(name="shop", labels={"team name": "a"}),
                    Namespace(name="istio-ingress"),
                )
            }
        ),
        "namespaces[shop].labels[team name]",
        "not a valid label key",
    ),
    "label value the API server refuses": (
        lambda: shop().model_copy(
            update={
                "namespaces": (
                    Namespace(name="shop", labels={"team": "a/b"}),
                    Namespace(name="istio-ingress"),
                )
            }
        ),
        "namespaces[shop].labels[team]",
        "not a valid label value",
    ),
    "external host that is not a DNS name": (
        lambda: _external("payments_api.test"),
        "policy.external_services[payments].hosts[0]",
        "a DNS name",
    ),
    "wildcard external host resolved by DNS": (
        lambda: _external("*.payments.test"),
        "policy.external_services[payments].hosts[0]",
        "a wildcard, which resolution DNS cannot look up",
    ),
    "authorization rule on a port the callee does not serve": (
        lambda: shop(
            authorization_policies=(
                AuthorizationPolicy(
                    name="api",
                    namespace="shop",
                    workload="api",
                    rules=(AuthorizationRule(operations=(RequestOperation(ports=(8443,)),)),),
                ),
            )
        ),
        "policy.authorization_policies[api].rules[0].operations[0].ports[0]",
        "'api' serves no port 8443, so this rule never matches",
    ),
    "gateway host in upper case": (
        lambda: shop(
            gateways=(
                Gateway(
                    name="edge",
                    namespace="shop",
                    servers=(GatewayServer(port=80, hosts=("Shop.Test",)),),
                ),
            )
        ),
        "policy.gateways[edge].servers[0].hosts[0]",
        "a DNS name",
    ),
}


@pytest.mark.parametrize("case", sorted(STRICT), ids=str)
def test_a_mistake_istio_or_kubernetes_would_refuse_is_reported_at_its_path(case: str) -> None:
    build, path, message = STRICT[case]
    problems = validate(build())
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


@pytest.mark.parametrize(
    "spec",
    [
        _two_routes(_v1(uri=StringMatch(regex="^/api/v[0-9]+$")), _v1()),
        _two_routes(_v1(uri=StringMatch(prefix="/v2")), _v1(uri=StringMatch(prefix="/v3"))),
        _with_resources(
            cpu_request="100m", memory_request="64Mi", cpu_limit="1.5", memory_limit="1e3"
        ),
        _with_version("registry.example.test:5000/team/tool:1.2.3"),
        _with_version("tool@sha256:" + "a" * 64),
        # A wildcard is looked up by the caller, not by DNS (Istio refuses DNS for it).
        _external("payments.test", "*.payments.test", resolution="NONE"),
        shop(authorization_policies=(_allow("allow-web"), _allow("allow-web-2"))),
    ],
    ids=(
        "regex",
        "distinct matches",
        "quantities",
        "registry with port",
        "digest",
        "wildcard host",
        "names",
    ),
)
def test_the_valid_forms_of_the_same_values_pass(spec: MeshSpec) -> None:
    assert validate(spec) == []


def test_an_image_tag_override_for_a_version_that_does_not_exist_is_an_error() -> None:
    _, problems = apply_overrides(shop(), {"imageTags": {"api/v9": "2.0.0"}})
    assert [str(p) for p in problems] == [
        "meshstack:imageTags.api/v9: 'api' has no version 'v9'; versions: v1, v2"
    ]
    _, problems = apply_overrides(shop(), {"imageTags": {"api": "not a tag"}})
    assert [p.path for p in problems] == ["meshstack:imageTags.api"]


def test_validate_runs_the_guardrails_on_production_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(PROJECT / "stacks", tmp_path / "stacks")
    floating = "config:\n  meshstack:imageTags:\n    productpage: latest\n"
    (tmp_path / "Pulumi.prod.yaml").write_text(floating + "  meshstack:production: true\n")
    assert main(["--project", str(tmp_path), "validate", "prod"]) == 1
    err = capsys.readouterr().err
    assert "guardrail no-floating-images:" in err and "productpage" in err and ":latest" in err

    (tmp_path / "Pulumi.dev.yaml").write_text(floating)
    assert main(["--project", str(tmp_path), "validate", "dev"]) == 0, "dev is not production"
    capsys.readouterr()


def test_validate_refuses_skipping_readiness_in_production_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(PROJECT / "stacks", tmp_path / "stacks")
    skipping = "config:\n  meshstack:skipAwait: 'true'\n"
    (tmp_path / "Pulumi.prod.yaml").write_text(skipping + "  meshstack:production: 'true'\n")
    assert main(["--project", str(tmp_path), "validate", "prod"]) == 1
    assert "guardrail awaited-in-production: " in capsys.readouterr().err
    (tmp_path / "Pulumi.prod.yaml").write_text(skipping)
    assert main(["--project", str(tmp_path), "validate", "prod"]) == 0
    capsys.readouterr()
