"""Mistakes a person makes, and the one-line answers they get: never a traceback.

Each test here was written against the code before the fix and failed on it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT
from meshstack.cli import EXIT_USAGE, main
from meshstack.render import render
from meshstack.stacks import resolve_stack

STACK_WITH_THREE_MISTAKES = """\
from meshstack.spec import (
    AuthorizationPolicy, AuthorizationRule, Destination, HttpRoute, MeshPolicy, MeshSpec,
    Namespace, VirtualService,
)


def spec():
    route = HttpRoute(destinations=(Destination(service="api"),), mirorr=None)
    policy = AuthorizationPolicy(
        name="allow-web", namespace="shop", action="ALLOWW", rules=(AuthorizationRule(),)
    )
    service = VirtualService(name="api", namespace="shop", http=(route,))
    return MeshSpec(
        stack="mistakes",
        namespaces=(Namespace(name="shop"),),
        policy=MeshPolicy(virtual_services=(service,), authorization_policies=(policy,)),
    )
"""


def _project(tmp_path: Path, stack: str, source: str) -> Path:
    (tmp_path / "stacks").mkdir(parents=True, exist_ok=True)
    (tmp_path / "stacks" / f"{stack.replace('-', '_')}.py").write_text(source)
    return tmp_path


def test_every_mistake_in_building_a_spec_is_shown_with_its_line_field_and_what_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "mistakes", STACK_WITH_THREE_MISTAKES)
    assert main(["--project", str(project), "validate", "mistakes"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "3 mistake(s)" in err
    assert (
        "stacks/mistakes.py:8: HttpRoute.mirorr = None: unknown field; did you mean 'mirror'?"
        in err
    )
    assert "stacks/mistakes.py:9: AuthorizationPolicy.action = 'ALLOWW':" in err
    assert "'ALLOW', 'DENY' or 'AUDIT'" in err
    assert "stacks/mistakes.py:12: VirtualService.hosts: required field missing" in err


def test_an_unknown_field_far_from_any_known_one_lists_the_valid_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(
        tmp_path,
        "far",
        "from meshstack.spec import Namespace\n"
        "def spec():\n"
        "    return Namespace(name='shop', zzz=1)\n",
    )
    assert main(["--project", str(project), "validate", "far"]) == 1
    err = capsys.readouterr().err
    assert "stacks/far.py:3: Namespace.zzz = 1: unknown field; valid fields: " in err
    assert "name" in err.split("valid fields:")[1]


def test_a_field_that_moved_says_where_it_lives_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec written for an earlier meshstack (one primary on ``MultiCluster``) is told
    where each setting moved, not only that the field is unknown."""
    project = _project(
        tmp_path,
        "earlier",
        "from meshstack.spec import MultiCluster, Topology\n"
        "def spec():\n"
        "    return MultiCluster(mesh_id='m', clusters=(), topology=Topology.PRIMARY_REMOTE,\n"
        "                        primary='east', discovery_address='203.0.113.10')\n",
    )
    assert main(["--project", str(project), "validate", "earlier"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "3 mistake(s)" in err
    assert "MultiCluster.primary = 'east': moved: MeshCluster(control_plane=...)" in err
    assert "MultiCluster.discovery_address = '203.0.113.10': moved: MeshCluster(" in err
    assert "MultiCluster.topology = " in err and "derived" in err


def test_a_stack_file_that_raises_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "raises", "def spec():\n    return {}['missing']\n")
    assert main(["--project", str(project), "validate", "raises"]) == 1
    err = capsys.readouterr().err
    assert "stacks/raises.py:2: KeyError: 'missing'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config: [unclosed\n", "Pulumi.dev.yaml:2:1: not valid YAML"),
        ("- a\n- b\n", "Pulumi.dev.yaml: expected a mapping at the top, found a list"),
        ("config:\n  - a\n", "Pulumi.dev.yaml: 'config' must be a mapping of keys to values"),
    ],
    ids=("bad YAML", "list at the top", "config not a mapping"),
)
def test_a_malformed_stack_config_file_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    shutil.copytree(PROJECT / "stacks", tmp_path / "stacks")
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    assert main(["--project", str(tmp_path), "validate", "dev"]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_render_onto_a_file_or_an_impossible_path_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("mine\n")
    for out in (a_file, a_file / "below"):
        assert main(["--project", str(PROJECT), "render", "dev", "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert f"meshstack: cannot write to {out}:" in err
        assert len(err.strip().splitlines()) == 1
    assert a_file.read_text() == "mine\n"


def test_render_never_deletes_files_it_did_not_write(tmp_path: Path) -> None:
    theirs = tmp_path / "001-namespace-mine.yaml"
    theirs.write_text("kind: Namespace\n")
    assert main(["--project", str(PROJECT), "render", "dev", "--out", str(tmp_path)]) == 0
    assert theirs.read_text() == "kind: Namespace\n"

    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "001-namespace-bookinfo.yaml").write_text("mine: true\n")
    assert main(["--project", str(PROJECT), "render", "dev", "--out", str(clash)]) == 1
    assert [p.name for p in clash.iterdir()] == ["001-namespace-bookinfo.yaml"]
    assert (clash / "001-namespace-bookinfo.yaml").read_text() == "mine: true\n"

    ours = tmp_path / "ours"
    assert main(["--project", str(PROJECT), "render", "dev", "--out", str(ours)]) == 0
    first = {p.name for p in ours.glob("*.yaml")}
    (ours / "notes.yaml").write_text("mine: true\n")
    assert main(["--project", str(PROJECT), "render", "staging", "--out", str(ours)]) == 0
    second = {p.name for p in ours.glob("*.yaml")} - {"notes.yaml"}
    assert (ours / "notes.yaml").read_text() == "mine: true\n"
    assert second and second != first, "stale objects of the earlier render are gone"
    staging = tmp_path / "staging"
    assert main(["--project", str(PROJECT), "render", "staging", "--out", str(staging)]) == 0
    assert second == {p.name for p in staging.glob("*.yaml")}


def test_output_closed_early_is_not_a_traceback() -> None:
    command = [sys.executable, "-m", "meshstack.cli", "--project", str(PROJECT), "graph", "dev"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as graph:
        assert graph.stdout is not None and graph.stderr is not None
        graph.stdout.close()  # like `| head -0`: the reader is gone before the first line
        err = graph.stderr.read().decode()
        code = graph.wait(timeout=60)
    assert "Traceback" not in err
    assert code == 1 and len(err.strip().splitlines()) <= 1


def test_pulumi_stack_names_with_dashes_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        (PROJECT / "stacks" / "staging.py")
        .read_text()
        .replace('stack="staging"', 'stack="prod-eu"')
    )
    project = _project(tmp_path, "prod-eu", source)
    assert main(["--project", str(project), "validate", "prod-eu"]) == 0
    assert "stack 'prod-eu' is valid" in capsys.readouterr().out

    assert main(["--project", str(project), "validate", "prod/eu"]) == 1
    err = capsys.readouterr().err
    assert "letters, digits, '-', '_' and '.'" in err
    assert "prod-eu is read from stacks/prod_eu.py" in err


def test_a_stack_file_declaring_another_stack_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (PROJECT / "stacks" / "staging.py").read_text()
    project = _project(tmp_path, "qa", source)
    assert main(["--project", str(project), "validate", "qa"]) == 1
    err = capsys.readouterr().err
    assert "stacks/qa.py declares MeshSpec.stack = 'staging'" in err
    assert "should be 'qa'" in err


def test_usage_errors_do_not_share_an_exit_code_with_diff_outcomes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert EXIT_USAGE not in (0, 1, 2, 3)
    for argv in (
        ["render", "dev"],
        ["no-such-command"],
        ["diff", "dev", "--base"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(["--project", str(PROJECT), *argv])
        assert exited.value.code == EXIT_USAGE, argv
    capsys.readouterr()


def test_review_comment_of_a_missing_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review-comment", str(tmp_path / "nowhere")]) == 1
    assert "no directory" in capsys.readouterr().err


def test_yaml_output_has_no_anchors_or_aliases(tmp_path: Path) -> None:
    assert main(["--project", str(PROJECT), "render", "dev", "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.yaml"))
    text = "".join(p.read_text() for p in files)
    assert "&id" not in text and "*id" not in text
    # Each file parses back to exactly the object rendered (a generator would never fail).
    spec, problems = resolve_stack("dev", PROJECT)
    assert problems == []
    parsed = [yaml.safe_load(p.read_text()) for p in files]
    assert parsed == [dict(obj) for obj in render(spec)]


def test_mistakes_name_their_line_when_the_project_is_reached_through_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path / "real", "mistakes", STACK_WITH_THREE_MISTAKES)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    assert main(["--project", "link", "validate", "mistakes"]) == 1
    assert ".py:8: HttpRoute.mirorr" in capsys.readouterr().err


def test_a_project_without_stacks_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(tmp_path / "nowhere"), "validate", "dev"]) == 1
    assert f"no stacks/ folder in {tmp_path / 'nowhere'}" in capsys.readouterr().err
