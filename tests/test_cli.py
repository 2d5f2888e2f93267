"""``meshstack validate`` and ``meshstack render`` as a user runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT
from meshstack.cli import main


def test_validate_accepts_each_stack(capsys: pytest.CaptureFixture[str]) -> None:
    for stack in ("dev", "staging", "prod"):
        assert main(["--project", str(PROJECT), "validate", stack]) == 0
    assert "stack 'prod' is valid" in capsys.readouterr().out


def test_render_writes_one_yaml_file_per_object(tmp_path: Path) -> None:
    assert main(["--project", str(PROJECT), "render", "prod", "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.yaml"))
    documents = [yaml.safe_load(f.read_text()) for f in files]
    assert files[0].name == "001-namespace-bookinfo.yaml"
    assert {d["kind"] for d in documents} >= {"Deployment", "VirtualService", "AuthorizationPolicy"}
    assert all(
        d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshstack" for d in documents
    )


def test_an_unknown_stack_is_named_with_the_available_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--project", str(PROJECT), "validate", "qa"]) == 1
    err = capsys.readouterr().err
    assert "no stack 'qa'" in err and "dev, multi, multi_remote, prod, staging" in err


def _project_with(tmp_path: Path, stack: str, source: str, config: str = "") -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / f"{stack}.py").write_text(source)
    if config:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(config)
    return tmp_path


def test_a_broken_spec_prints_every_problem_with_its_path_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with(
        tmp_path,
        "broken",
        "from meshstack.spec import MeshSpec, Namespace, MeshPolicy, PeerAuthentication\n"
        "def spec():\n"
        "    return MeshSpec(stack='broken', namespaces=(Namespace(name='Bad'),),\n"
        "        policy=MeshPolicy(peer_authentications=(PeerAuthentication(), PeerAuthentication(name='x'))))\n",
    )
    assert main(["--project", str(project), "validate", "broken"]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "namespaces[Bad].name: 'Bad' is not valid" in err
    assert "policy.peer_authentications[1]: a second mesh-wide PeerAuthentication" in err
    assert "Traceback" not in err


def test_a_stack_file_that_raises_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with(
        tmp_path,
        "typo",
        "from meshstack.spec import RequestSource\n"
        "def spec():\n"
        "    return RequestSource(sources_accounts=('a/b',))\n",
    )
    assert main(["--project", str(project), "validate", "typo"]) == 1
    err = capsys.readouterr().err
    assert "could not build its spec" in err and "did you mean 'service_accounts'?" in err
    assert "Traceback" not in err


def test_config_overrides_apply_and_bad_ones_name_the_config_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT / "stacks", project / "stacks")
    (project / "Pulumi.staging.yaml").write_text(
        "config:\n  meshstack:canaryWeights:\n    reviews: 50\n"
        "  meshstack:imageTags:\n    ratings: 1.21.0\n"
    )
    out = tmp_path / "out"
    assert main(["--project", str(project), "render", "staging", "--out", str(out)]) == 0
    reviews = yaml.safe_load(next(out.glob("*-virtualservice-bookinfo-reviews.yaml")).read_text())
    assert [r["weight"] for r in reviews["spec"]["http"][0]["route"]] == [50, 50]
    ratings = yaml.safe_load(next(out.glob("*-deployment-bookinfo-ratings-v1.yaml")).read_text())
    assert ratings["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.21.0")

    (project / "Pulumi.staging.yaml").write_text(
        "config:\n  meshstack:canaryWeights:\n    reviews: 150\n    details: 5\n"
        "  meshstack:canaryWeight: 3\n"
    )
    assert main(["--project", str(project), "validate", "staging"]) == 1
    err = capsys.readouterr().err
    assert "meshstack:canaryWeights.reviews: 150 is not an integer weight between 0 and 100" in err
    assert "meshstack:canaryWeights.details: no canary for 'details'" in err
    assert "meshstack:canaryWeight: unknown config key" in err
