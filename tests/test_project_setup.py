"""A team's own project: stack config read as Pulumi reads it, stacks that share code,
``meshstack init``, local sources named by environment variables, and what the CLI tells."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import shop
from meshstack.chart_files import unreachable_source_problems
from meshstack.cli import main
from meshstack.diff import diff
from meshstack.overrides import apply_overrides
from meshstack.scaffold import init_project
from meshstack.spec import (
    AuthorizationPolicy,
    AuthorizationRule,
    Canary,
    ExternalService,
    IstioInstall,
    Namespace,
    Protocol,
    RequestOperation,
    RequestSource,
    Resolution,
    ServicePort,
)
from meshstack.spec.addons import IstioSampleManifests
from meshstack.spec.install import ChartRepository, LocalCharts
from meshstack.spec.mesh import MeshSpec
from meshstack.stack_config import StackConfigError, read_settings, stack_config
from meshstack.stacks import load_spec, resolve_stack
from meshstack.validation import validate
from scratch_repo import git

# --- stack config as Pulumi reads it ---------------------------------------------------


def _config(tmp_path: Path, text: str, project: str = "payments") -> Path:
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    return tmp_path


def test_a_key_written_twice_is_refused_as_pulumi_refuses_it(tmp_path: Path) -> None:
    project = _config(
        tmp_path,
        "config:\n  meshstack:skipAwait: 'true'\n  meshstack:skipAwait: 'false'\n",
    )
    with pytest.raises(StackConfigError, match=r"Pulumi.dev.yaml:3:3: .*'meshstack:skipAwait'"):
        stack_config("dev", project)


def test_values_are_pulumis_text_so_yes_is_no_boolean(tmp_path: Path) -> None:
    project = _config(
        tmp_path,
        "config:\n  meshstack:skipAwait: yes\n  meshstack:renderDir: true\n"
        "  meshstack:production: 'true'\n",
    )
    values = stack_config("dev", project)
    settings, problems = read_settings(values)
    assert [p.path for p in problems] == ["meshstack:skipAwait", "meshstack:renderDir"]
    assert "'yes' is not a boolean" in problems[0].message
    assert "True is not a directory" in problems[1].message
    assert settings.production  # the quoted 'true' is Pulumi's "true" all the same


def test_keys_meshstack_never_reads_are_errors_with_the_fix(tmp_path: Path) -> None:
    project = _config(
        tmp_path,
        "config:\n  canaryWeights:\n    api: 10\n  meshstak:replicas:\n    api: 2\n"
        "  mesh-stack:skipAwait: 'true'\n  kubernetes:context: kind\n",
    )
    with pytest.raises(StackConfigError) as raised:
        stack_config("dev", project)
    lines = str(raised.value).splitlines()
    assert len(lines) == 3
    assert "'canaryWeights' has no namespace" in lines[0] and "'payments'" in lines[0]
    assert "write 'meshstack:canaryWeights'" in lines[0]
    assert "did you mean 'meshstack:replicas'?" in lines[1]
    assert "did you mean 'meshstack:skipAwait'?" in lines[2]


def test_an_unprefixed_key_is_ours_in_a_project_named_meshstack(tmp_path: Path) -> None:
    project = _config(tmp_path, "config:\n  skipAwait: 'true'\n", project="meshstack")
    assert stack_config("dev", project) == {"skipAwait": True}


def test_an_unknown_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent.parent / "stacks", tmp_path / "stacks")
    _config(tmp_path, "config:\n  meshstack:canaryWeight:\n    reviews: 10\n", project="meshstack")
    _, problems = resolve_stack("dev", tmp_path)
    assert str(problems[0]).startswith(
        "meshstack:canaryWeight: unknown config key; did you mean meshstack:canaryWeights?"
    )


# --- stacks share code -----------------------------------------------------------------

_COMMON = """\
from meshstack.spec import App, ServicePort, Version, Workload


def app() -> App:
    return App(
        name="shop",
        namespace="shop",
        workloads=(Workload(name="web", ports=(ServicePort(number=8080),), versions=(Version(image="web:1"),)),),
    )
"""

_STACK = """\
from meshstack.spec import MeshSpec, Namespace
{import_line}


def spec() -> MeshSpec:
    return MeshSpec(stack="dev", namespaces=(Namespace(name="shop"),), apps=(app(),))
"""


@pytest.mark.parametrize(
    "import_line",
    [
        "from stacks._common import app",
        "from ._common import app",
        "from _common import app",
        "from shared.pieces import app",
    ],
)
def test_a_stack_file_imports_its_projects_modules_from_any_directory(
    tmp_path: Path, import_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "payments"
    (project / "stacks").mkdir(parents=True)
    (project / "shared").mkdir()
    (project / "stacks" / "_common.py").write_text(_COMMON)
    (project / "shared" / "pieces.py").write_text(_COMMON)
    (project / "stacks" / "dev.py").write_text(_STACK.format(import_line=import_line))
    assert main(["--project", str(project), "validate", "dev"]) == 0, capsys.readouterr().err
    assert not any(name.startswith("stacks.") for name in sys.modules)  # nothing left behind


def test_a_mistake_in_a_shared_module_names_that_module_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    broken = _COMMON.replace("ports=(ServicePort(number=8080),)", "portz=()")
    (tmp_path / "stacks" / "_common.py").write_text(broken)
    (tmp_path / "stacks" / "dev.py").write_text(
        _STACK.format(import_line="from stacks._common import app")
    )
    assert main(["--project", str(tmp_path), "validate", "dev"]) == 1
    err = capsys.readouterr().err
    assert "stacks/_common.py:8: Workload.portz" in err, err


# --- meshstack init --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["payments", "a", "ledger-and-payments-platform-team"])
def test_init_writes_a_project_that_validates_renders_and_passes_ruff(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / name
    assert main(["init", str(project)]) == 0
    assert (project / "__main__.py").read_text().count("\n") <= 6
    assert main(["--project", str(project), "validate", "dev"]) == 0
    assert main(["--project", str(project), "render", "dev", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main(["--project", str(project), "graph", "dev", "--format", "json"]) == 0
    graph = capsys.readouterr().out
    assert f'"{name}/web"' in graph and f'"{name}/api"' in graph
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in (["check", "--select", "E,F,W,I,UP,B"], ["format", "--check"]):
        linted = subprocess.run(
            [ruff, *command, "--isolated", "--line-length", "100", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout


def test_init_refuses_to_overwrite_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.py").write_text("# ours\n")
    assert main(["init", str(tmp_path), "--name", "payments"]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "stacks" / "dev.py").read_text() == "# ours\n"
    assert not (tmp_path / "Pulumi.yaml").exists()  # nothing half-written


def test_init_refuses_a_name_that_cannot_be_a_namespace(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot name the project's namespace"):
        init_project(tmp_path / "Payments_App")


# --- the CLI ---------------------------------------------------------------------------


def test_version_is_printed_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("meshstack 0.")


def test_provider_install_without_the_pulumi_cli_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi here
    assert main(["provider-install"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "meshstack provider-install: the Pulumi CLI is not on PATH: install it, then run "
        "this again\n"
    )


def test_diff_compares_with_head_by_default_even_below_the_repository_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q")
    project = tmp_path / "infra" / "mesh"
    assert main(["init", str(project), "--name", "payments"]) == 0
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "init")
    dev = project / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("api: 10", "api: 60"))
    capsys.readouterr()
    assert main(["--project", str(project), "diff", "dev"]) == 3  # a 50-point jump is risky
    out = capsys.readouterr().out
    assert "dev: HEAD → working tree" in out
    assert "canary payments/api split: v1 90% / v2 10% → v1 40% / v2 60%" in out


# --- local sources by environment variable, and remote ones that cannot be reached -----


def test_a_local_source_named_by_a_variable_resolves_where_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    charts = tmp_path / "mirror"
    for chart in ("base", "istiod", "gateway", "cni"):
        (charts / "1.30.4" / chart).mkdir(parents=True)
        (charts / "1.30.4" / chart / "Chart.yaml").write_text(f"name: {chart}\n")
    project = tmp_path / "payments"
    init_project(project)
    config = project / "Pulumi.dev.yaml"
    config.write_text(
        config.read_text()
        + "  meshstack:istioCharts:\n    kind: local\n    path: ${MIRROR}/{version}\n"
    )
    monkeypatch.delenv("MIRROR", raising=False)
    _, problems = resolve_stack("dev", project)
    assert [p.path for p in problems] == ["install.chart_source.path"]
    assert "names $MIRROR, which is not set here" in problems[0].message
    monkeypatch.setenv("MIRROR", str(charts))
    spec, problems = resolve_stack("dev", project)
    assert problems == []
    # Another machine's mirror is the same committed config: the diff sees no change.
    assert spec.install is not None
    elsewhere = spec.install.model_copy(
        update={"chart_source": LocalCharts(path="/srv/charts/{version}")}
    )
    assert diff(spec, spec.model_copy(update={"install": elsewhere})) == []
    remote = spec.install.model_copy(update={"chart_source": ChartRepository()})
    [change] = diff(spec, spec.model_copy(update={"install": remote}))
    assert change.key == "istio charts from"
    assert change.before == "local files (layout release)"


def test_an_unreachable_chart_repository_is_one_line_naming_chart_url_and_setting() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{port}/charts"
        spec = shop().model_copy(
            update={"install": IstioInstall(chart_source=ChartRepository(url=url))}
        )
        problems = unreachable_source_problems(spec, timeout=2)
    assert len(problems) == 1
    [problem] = problems
    assert problem.path == "meshstack:istioCharts"
    assert f"chart 'base' comes from {url}" in problem.message
    assert "offline, set meshstack:istioCharts (kind local" in problem.message


def test_add_ons_read_from_istio_samples_fetch_no_chart(stack_specs: dict[str, MeshSpec]) -> None:
    prod = stack_specs["prod"]
    samples = prod.addons.model_copy(
        update={"source": IstioSampleManifests(path="/srv/istio/samples/addons")}
    )
    local = LocalCharts(path="/srv/charts/{version}")
    assert prod.install is not None
    offline = prod.model_copy(
        update={
            "addons": samples,
            "install": prod.install.model_copy(update={"chart_source": local}),
        }
    )
    assert unreachable_source_problems(offline, timeout=1) == []  # nothing to connect to


# --- overrides address items as validation does ----------------------------------------


def _two_shops() -> MeshSpec:
    """Namespaces ``shop`` and ``outlet``, each running web → api with a canary of api."""
    one = shop()
    app = one.apps[0]
    outlet_app = app.model_copy(update={"name": "outlet", "namespace": "outlet"})
    canary = Canary(service="api", namespace="shop", stable="v1", candidate="v2", weight=10)
    policy = one.policy.model_copy(
        update={
            "canaries": (canary, canary.model_copy(update={"namespace": "outlet"})),
            "destination_policies": (),
        }
    )
    return one.model_copy(
        update={
            "namespaces": (*one.namespaces, Namespace(name="outlet")),
            "apps": (app, outlet_app),
            "policy": policy,
        }
    )


def test_a_bare_name_that_two_namespaces_share_is_an_error_listing_both() -> None:
    spec = _two_shops()
    assert validate(spec) == []
    for key, value in (("canaryWeights", 50), ("replicas", 3), ("imageTags", "2.0.0")):
        _, problems = apply_overrides(spec, {key: {"api": value}})
        assert [str(p) for p in problems] == [
            f"meshstack:{key}.api: 'api' is in 2 namespaces (outlet/api, shop/api); "
            "write namespace/name"
        ], key


def test_namespace_and_name_change_that_item_only() -> None:
    spec = _two_shops()
    changed, problems = apply_overrides(
        spec,
        {
            "canaryWeights": {"shop/api": 50},
            "replicas": {"outlet/api": 3},
            "imageTags": {"shop/api/v2": "2.0.1", "outlet/web": "1.1"},
        },
    )
    assert problems == []
    weights = {(c.namespace, c.service): c.weight for c in changed.policy.canaries}
    assert weights == {("shop", "api"): 50, ("outlet", "api"): 10}
    workloads = {(a.namespace, w.name): w for a in changed.apps for w in a.workloads}
    assert workloads["outlet", "api"].replicas == 3 and workloads["shop", "api"].replicas == 1
    assert [v.image for v in workloads["shop", "api"].versions] == ["api:1", "api:2.0.1"]
    assert [v.image for v in workloads["outlet", "api"].versions] == ["api:1", "api:2"]
    assert [v.image for v in workloads["outlet", "web"].versions] == ["web:1.1"]
    assert [v.image for v in workloads["shop", "web"].versions] == ["web:1"]


# --- messages that say what would be valid ---------------------------------------------


def test_an_unknown_callee_gets_a_did_you_mean_and_the_workloads() -> None:
    spec = shop()
    app = spec.apps[0]
    web = app.workloads[0].model_copy(update={"calls": ("apii",)})
    broken = spec.model_copy(
        update={"apps": (app.model_copy(update={"workloads": (web, *app.workloads[1:])}),)}
    )
    [problem] = validate(broken)
    assert problem.message == (
        "calls 'apii', but no workload 'apii' exists in namespace 'shop'; "
        "did you mean 'api'? workloads: api, web"
    )


def test_a_service_account_written_as_namespace_name_is_not_told_to_write_it_so() -> None:
    def allowing(account: str) -> MeshSpec:
        rule = AuthorizationRule(sources=(RequestSource(service_accounts=(account,)),))
        policy = AuthorizationPolicy(name="api", namespace="shop", workload="api", rules=(rule,))
        return shop(authorization_policies=(policy,))

    [qualified] = validate(allowing("shop/wbe"))
    assert "write 'namespace/name'" not in qualified.message
    assert qualified.message.endswith(
        "did you mean 'shop/web'? service accounts: istio-ingress/istio-ingressgateway, shop/api, shop/web"
    )
    [bare] = validate(allowing("wbe"))
    assert "a bare name is read there; write 'namespace/name' for another" in bare.message


def test_a_semantic_problem_names_the_line_that_built_the_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "payments"
    init_project(project)
    dev = project / "stacks" / "dev.py"
    dev.write_text(dev.read_text().replace('candidate="v2"', 'candidate="v9"'))
    common = project / "stacks" / "_common.py"
    common.write_text(common.read_text().replace('calls=("api",)', 'calls=("apix",)'))
    assert main(["--project", str(project), "validate", "dev"]) == 1
    err = capsys.readouterr().err.splitlines()
    canary_line = next(
        i for i, line in enumerate(dev.read_text().splitlines(), 1) if "Canary(" in line
    )
    web_line = next(
        i for i, line in enumerate(common.read_text().splitlines(), 1) if "Workload(" in line
    )
    assert any(
        line.endswith(
            f"stacks/dev.py:{canary_line}: policy.canaries[api].candidate_image: "
            "version 'v9' is not declared by 'api'; give its image in candidate_image"
        )
        for line in err
    ), err
    assert any(
        f"stacks/_common.py:{web_line}: apps[payments].workloads[web].calls[0]" in line
        for line in err
    ), err


# --- what Istio itself would refuse, or what can never match ---------------------------


def test_a_wildcard_host_resolved_by_dns_is_refused_as_istio_refuses_it() -> None:
    def external(resolution: Resolution) -> MeshSpec:
        ext = ExternalService(
            name="partners",
            namespace="shop",
            hosts=("*.partners.test",),
            ports=(ServicePort(number=443, protocol=Protocol.TLS),),
            resolution=resolution,
        )
        return shop(external_services=(ext,))

    [problem] = validate(external(Resolution.DNS))
    assert problem.path == "policy.external_services[partners].hosts[0]"
    assert "resolution DNS" in problem.message and "resolution=Resolution.NONE" in problem.message
    assert validate(external(Resolution.NONE)) == []


def test_an_authorization_rule_on_a_port_the_callee_does_not_serve_is_refused() -> None:
    def on_port(port: int) -> MeshSpec:
        rule = AuthorizationRule(
            sources=(RequestSource(service_accounts=("shop/web",)),),
            operations=(RequestOperation(ports=(port,)),),
        )
        return shop(
            authorization_policies=(
                AuthorizationPolicy(name="api", namespace="shop", workload="api", rules=(rule,)),
            )
        )

    [problem] = validate(on_port(8443))
    assert problem.path == "policy.authorization_policies[api].rules[0].operations[0].ports[0]"
    assert problem.message == (
        "'api' serves no port 8443, so this rule never matches; its ports: 9090"
    )
    assert validate(on_port(9090)) == []


def test_one_canary_has_one_path_in_every_problem() -> None:
    canary = Canary(service="api", namespace="shop", stable="v1", candidate="v9", weight=150)
    paths = sorted(p.path for p in validate(shop(canaries=(canary,))))
    assert paths and all(p.startswith("policy.canaries[api].") for p in paths), paths


def test_the_package_map_names_every_module() -> None:
    import meshstack

    package = Path(meshstack.__file__).parent
    names = {
        p.stem if p.is_file() else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__")
        or (p.is_dir() and (p / "__init__.py").is_file())
    }
    documented = meshstack.__doc__ or ""
    assert (
        sorted(n for n in names if f"``{n}``" not in documented and f"``{n}/``" not in documented)
        == []
    )


def test_one_specs_indexes_are_built_once_whoever_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """validate, render, graph and the ingress judgement of one spec share one
    HostResolver, one Placement and one Evaluator (they were rebuilt by each reader)."""
    from meshstack.access.authorization import Evaluator
    from meshstack.access.graph import who_can_call_whom
    from meshstack.access.ingress import who_can_enter
    from meshstack.enforcement import Placement
    from meshstack.hosts import HostResolver
    from meshstack.render import render

    built: dict[str, int] = {}
    for cls in (HostResolver, Placement, Evaluator):
        original = cls.__init__

        def counting(self: object, *args: Any, _o: Any = original, _n: str = cls.__name__) -> None:
            built[_n] = built.get(_n, 0) + 1
            _o(self, *args)

        monkeypatch.setattr(cls, "__init__", counting)
    spec = load_spec("dev", Path(__file__).resolve().parent.parent / "stacks")
    assert validate(spec) == []
    render(spec)
    who_can_call_whom(spec)
    who_can_enter(spec)
    assert built == {"HostResolver": 1, "Placement": 1, "Evaluator": 1}


def test_validation_never_imports_the_renderer_or_the_graph() -> None:
    """Validation judges the spec; it must not reach up into what renders objects or
    prints the access matrix (the Gateway API's limits live in ``gateway_api``, one pair's
    authorization in ``access.authorization``)."""
    import ast

    import meshstack

    validation = Path(meshstack.__file__).parent / "validation"
    reaching_up = []
    for module in sorted(validation.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith(("meshstack.render", "meshstack.access.graph"))
            ):
                reaching_up.append(f"{module.name}: {node.module}")
    assert reaching_up == []


def test_no_two_public_classes_of_the_package_share_a_name() -> None:
    """A name means one thing: ``GatewayApi`` was both the spec's enum and the component
    that installs the Gateway API's CRDs, ``MeshPolicy`` both the spec and a component."""
    import ast
    from collections import defaultdict

    import meshstack

    package = Path(meshstack.__file__).parent
    where: dict[str, list[str]] = defaultdict(list)
    for module in sorted(package.rglob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where[node.name].append(str(module.relative_to(package)))
    assert {name: places for name, places in where.items() if len(places) > 1} == {}


def test_a_problem_in_what_config_overrides_names_the_config_key_not_the_stack_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "payments"
    init_project(project)
    config = project / "Pulumi.dev.yaml"
    config.write_text(
        config.read_text() + "  meshstack:istioCharts:\n    kind: repository\n"
        "    url: http://charts.internal.test\n"
    )
    assert main(["--project", str(project), "validate", "dev"]) == 1
    err = capsys.readouterr().err
    assert "Pulumi.dev.yaml (meshstack:istioCharts): install.chart_source.url:" in err, err
    assert "stacks/dev.py" not in err


def test_loading_a_stack_keeps_meshstacks_own_modules_loaded_once() -> None:
    """The repository's stacks import meshstack modules from inside the project (an
    editable install): they must stay in sys.modules, or a second copy would load later."""
    import sys

    from meshstack.stacks import load_spec

    sys.modules.pop("meshstack.recipes", None)
    load_spec("staging", Path(__file__).resolve().parents[1] / "stacks")
    assert "meshstack.recipes" in sys.modules
