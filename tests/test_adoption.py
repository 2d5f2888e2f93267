"""A team adopts meshstack as a package: the wheel, a fresh virtualenv outside this
repository, ``meshstack init`` for its own app, its own edits, and a real ``pulumi up``
with the policy pack the package ships, using nothing of this source tree.

The wheel is built with this virtualenv's setuptools and installed from uv's cache
(``--offline``): tests talk to 127.0.0.1 only. The versions are this repository's
(constraints.txt) because the toolchain's Kubernetes provider plugin is 4.25.0; both ends
of the declared ranges are proven by ``make ranges``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import PROJECT
from engine import offline_env, offline_sources_config, run, toolchain_bin
from engine_stack import require_toolchain
from scratch_repo import git

pytestmark = pytest.mark.engine

UV = Path(sys.executable).parent / "uv"
BUILD = ("--wheel", "--sdist", "--out-dir")


def _built(out: Path) -> tuple[Path, Path]:
    subprocess.run(
        [
            str(UV),
            "build",
            "--offline",
            "--no-build-isolation",
            "--python",
            sys.executable,
            *BUILD,
            str(out),
        ],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _built(tmp_path_factory.mktemp("dist"))


def test_the_wheel_holds_the_program_the_pack_and_the_license_not_the_repository(
    dist: tuple[Path, Path],
) -> None:
    wheel, sdist = dist
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "meshstack/program.py",
        "meshstack/policy_pack/__init__.py",
        "meshstack/scaffold.py",
        "meshstack/py.typed",
        "meshstack/judge_go/go.mod",
        "meshstack-0.1.0.dist-info/licenses/LICENSE",
    ):
        assert shipped in names, shipped
    assert not [n for n in names if n.startswith(("tests/", "stacks/", "scripts/"))]
    metadata = zipfile.ZipFile(wheel).read("meshstack-0.1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: pulumi<4,>=3.260" in metadata
    assert "make demo" not in metadata and ".venv/bin" not in metadata  # written for PyPI
    entry_points = zipfile.ZipFile(wheel).read("meshstack-0.1.0.dist-info/entry_points.txt")
    assert b"meshstack-policy-pack = meshstack.policy_pack:serve" in entry_points
    assert b"meshstack-provider = meshstack.component_provider:main" in entry_points
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert "meshstack-0.1.0/LICENSE" in members
    assert not [m for m in members if "/tests/" in m or m.endswith("conftest.py")]


_LEDGER = """\
            Workload(
                name="ledger",
                ports=(ServicePort(number=7070),),
                versions=(Version(image=f"{IMAGES}/ledger:1.0.0"),),
            ),
"""

_API_TO_LEDGER = """\
        AuthorizationPolicy(
            name="ledger-from-api",
            namespace=NAMESPACE,
            workload="ledger",
            rules=(
                AuthorizationRule(
                    sources=(RequestSource(service_accounts=(f"{NAMESPACE}/api",)),),
                ),
            ),
        ),
"""


def _edit(team: Path) -> None:
    """What the team changes after init: a third service and the canary's next step."""
    common = team / "stacks" / "_common.py"
    text = common.read_text()
    text = text.replace(
        '                name="api",\n',
        '                name="api",\n                calls=("ledger",),\n',
    )
    text = text.replace(
        "            ),\n        ),\n    )\n",
        "            ),\n" + _LEDGER + "        ),\n    )\n",
        1,
    )
    text = text.rstrip().removesuffix(")") + _API_TO_LEDGER + "    )\n"
    common.write_text(text)
    config = team / "Pulumi.dev.yaml"
    config.write_text(config.read_text().replace("api: 10", "api: 25"))


def _venv(where: Path, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel and its dependencies, nothing from this tree."""
    # python -m venv, as README says: Pulumi's Python host lists packages with pip.
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = str(where / "bin" / "python")
    requirement = f"meshstack[policy] @ {wheel.as_uri()}"
    constraints = str(PROJECT / "constraints.txt")
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--offline",
            "--python",
            python,
            "-c",
            constraints,
            requirement,
        ],
        check=True,
        capture_output=True,
    )
    return where / "bin"


def test_a_team_goes_from_init_to_a_real_up_of_its_own_app(
    dist: tuple[Path, Path], tmp_path: Path
) -> None:
    require_toolchain("pulumi", "language-python", "kubernetes-provider")
    bin_dir = _venv(tmp_path / "venv", dist[0])
    meshstack = str(bin_dir / "meshstack")

    def cli(*args: str, status: int = 0) -> str:
        done = subprocess.run(
            [meshstack, *args],
            cwd=team,
            env={**os.environ, "ISTIO_CHARTS": charts},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == status, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout

    team = tmp_path / "payments"
    subprocess.run([meshstack, "init", str(team)], check=True, capture_output=True)
    mirror = str(offline_sources_config()["meshstack:istioCharts"]["path"])  # type: ignore[index]
    charts = mirror.removesuffix("/{version}")
    # The offline chart source as a team commits it: the machine's mirror is a variable.
    with (team / "Pulumi.dev.yaml").open("a") as config:
        config.write(
            "  meshstack:istioCharts:\n    kind: local\n"
            "    path: ${ISTIO_CHARTS}/{version}\n    layout: istio-source\n"
            "  meshstack:renderDir: build/manifests\n"
        )
    git(team, "init", "-q")
    git(team, "add", "-A")
    git(team, "commit", "-qm", "meshstack init")
    _edit(team)

    assert "is valid" in cli("validate", "dev")
    cli("render", "dev", "--out", str(tmp_path / "rendered"))
    graph = cli("graph", "dev", "--format", "json")
    assert '"payments/ledger"' in graph
    changed = cli("diff", "dev", status=3)  # a new permission is risky: it is reviewed
    risky = changed.split("## Risky", 1)[1].split("##", 1)[0]
    assert "payments/api → payments/ledger" in risky
    assert "workload payments/ledger: added" in changed
    assert "canary payments/api split: v1 90% / v2 10% → v1 75% / v2 25%" in changed

    pack = cli("policy-pack").strip()
    assert Path(pack).parent == bin_dir
    state = tmp_path / "state"
    state.mkdir()
    env = offline_env(state.as_uri(), extra={"ISTIO_CHARTS": charts})
    env["PATH"] = os.pathsep.join([str(toolchain_bin()), str(bin_dir), os.environ["PATH"]])
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    run(["pulumi", "stack", "init", "dev", "--non-interactive"], team, env)
    preview = run(["pulumi", "preview", "--non-interactive", "--policy-pack", pack], team, env)
    assert "meshstack-guardrails" in preview.stdout + preview.stderr
    run(["pulumi", "up", "--yes", "--non-interactive", "--policy-pack", pack], team, env)
    assert (team / "build" / "manifests").is_dir()
    again = run(
        [
            "pulumi",
            "up",
            "--yes",
            "--non-interactive",
            "--expect-no-changes",
            "--policy-pack",
            pack,
        ],
        team,
        env,
    )
    assert "unchanged" in again.stdout
