"""``meshstack init DIR``: a working project for a team's own app, not a copy of this repo.

What it writes validates, renders and deploys unchanged: ``Pulumi.yaml``, the two-line
``__main__.py``, ``stacks/dev.py`` (one namespace, a web front end calling an API that runs
two versions under a canary, STRICT mTLS, default-deny with the calls allowed, an ingress
route) with its shared pieces in ``stacks/_common.py``, ``Pulumi.dev.yaml``, the
pull-request workflow and a short README. It never overwrites a file.
"""

from __future__ import annotations

import re
from pathlib import Path

from meshstack.policy_pack import EXECUTABLE as POLICY_PACK_EXECUTABLE

_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


class ScaffoldError(Exception):
    """The directory or name cannot hold a new project."""


def _pulumi_yaml(name: str) -> str:
    return f"""\
name: {name}
description: {name}'s mesh, declared with meshstack
runtime: python
"""


_MAIN = '''\
"""The Pulumi program: meshstack loads stacks/<stack>.py and deploys it."""

from meshstack.program import run

run()
'''


def _common(name: str) -> str:
    return f'''\
"""What every stack of {name} shares: the app, and who may call whom."""

from meshstack.spec import (
    App,
    AuthorizationPolicy,
    AuthorizationRule,
    RequestSource,
    ServicePort,
    Version,
    Workload,
)

NAMESPACE = "{name}"
IMAGES = "{name}"
"""Where the app's images live (a registry path); each image is IMAGES/<workload>:<tag>."""
INGRESS_IDENTITY = "istio-ingress/istio-ingressgateway"
"""The ingress gateway's service account (namespace/name), as the install deploys it."""


def app(api_candidate: str = "1.1.0") -> App:
    """web (one version) calls api, which runs v1 and a candidate v2."""
    return App(
        name=NAMESPACE,
        namespace=NAMESPACE,
        workloads=(
            Workload(
                name="web",
                ports=(ServicePort(number=8080),),
                calls=("api",),
                versions=(Version(image=f"{{IMAGES}}/web:1.0.0"),),
            ),
            Workload(
                name="api",
                ports=(ServicePort(number=9090),),
                versions=(
                    Version(name="v1", image=f"{{IMAGES}}/api:1.0.0"),
                    Version(name="v2", image=f"{{IMAGES}}/api:{{api_candidate}}"),
                ),
            ),
        ),
    )


def allowed_calls() -> tuple[AuthorizationPolicy, ...]:
    """Under default-deny, the calls the app makes: ingress → web, web → api."""
    return (
        AuthorizationPolicy(
            name="web-from-ingress",
            namespace=NAMESPACE,
            workload="web",
            rules=(
                AuthorizationRule(
                    sources=(RequestSource(service_accounts=(INGRESS_IDENTITY,)),),
                ),
            ),
        ),
        AuthorizationPolicy(
            name="api-from-web",
            namespace=NAMESPACE,
            workload="api",
            rules=(
                AuthorizationRule(
                    sources=(RequestSource(service_accounts=(f"{{NAMESPACE}}/web",)),),
                ),
            ),
        ),
    )
'''


def _dev(name: str) -> str:
    return f'''\
"""dev: STRICT mTLS, default-deny, an ingress route and a 10 % canary of api."""

from meshstack.recipes import INGRESS_GATEWAY, ingress_gateway_install
from meshstack.spec import (
    Canary,
    Destination,
    Gateway,
    GatewayServer,
    HttpRoute,
    IstioInstall,
    MeshPolicy,
    MeshSpec,
    MtlsMode,
    Namespace,
    PeerAuthentication,
    VirtualService,
)

from stacks._common import NAMESPACE, allowed_calls, app

HOST = "{name}.dev.example.com"


def spec() -> MeshSpec:
    gateway = Gateway(
        name="{name}-gateway",
        namespace=NAMESPACE,
        servers=(GatewayServer(port=80, hosts=(HOST,)),),
    )
    return MeshSpec(
        stack="dev",
        namespaces=(Namespace(name=NAMESPACE), Namespace(name="istio-ingress")),
        apps=(app(),),
        gateway_workloads=(INGRESS_GATEWAY,),
        policy=MeshPolicy(
            gateways=(gateway,),
            virtual_services=(
                VirtualService(
                    name="{name}-ingress",
                    namespace=NAMESPACE,
                    hosts=(HOST,),
                    gateways=(gateway.name,),
                    http=(HttpRoute(destinations=(Destination(service="web", port=8080),)),),
                ),
            ),
            canaries=(
                Canary(
                    service="api",
                    namespace=NAMESPACE,
                    stable="v1",
                    candidate="v2",
                    weight=10,
                ),
            ),
            peer_authentications=(PeerAuthentication(mode=MtlsMode.STRICT),),
            default_deny_namespaces=(NAMESPACE,),
            authorization_policies=allowed_calls(),
        ),
        install=IstioInstall(gateways=(ingress_gateway_install(),)),
    )
'''


_DEV_CONFIG = """\
config:
  # The canary's weight, tuned without editing code: pulumi config set --path 'meshstack:canaryWeights.api' 25
  meshstack:canaryWeights:
    api: 10
"""


def _workflow() -> str:
    return f"""\
# On every pull request: the mesh diff, who can call whom, and a preview with the guardrails.
name: mesh review
on:
  pull_request:

permissions:
  contents: read

jobs:
  review:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        stack: [dev]
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the base branch is needed for the mesh diff
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - uses: pulumi/actions@v6
      - name: Install meshstack
        run: |
          python -m venv venv
          venv/bin/pip install -r requirements.txt
          echo "$PWD/venv/bin" >> "$GITHUB_PATH"
      - name: Mesh diff against the base branch
        env:
          STACK: ${{{{ matrix.stack }}}}
          BASE_REF: ${{{{ github.base_ref }}}}
        run: |
          set +e
          meshstack diff "$STACK" --base "origin/$BASE_REF"
          echo "diff exit status: $? (0 unchanged, 2 changed, 3 risky)"
      - name: Who can call whom
        env:
          STACK: ${{{{ matrix.stack }}}}
        run: meshstack graph "$STACK"
      - name: Preview with the policy pack
        env:
          STACK: ${{{{ matrix.stack }}}}
          PULUMI_BACKEND_URL: ${{{{ vars.PULUMI_BACKEND_URL }}}}
          PULUMI_SKIP_CHECKPOINTS: "true"
        run: |
          pulumi login "${{PULUMI_BACKEND_URL:-file://$RUNNER_TEMP/state}}"
          pulumi stack select --create "$STACK"
          pulumi preview --diff --non-interactive --policy-pack "$(command -v {POLICY_PACK_EXECUTABLE})"
"""


def _readme(name: str) -> str:
    return f"""\
# {name}

{name}'s mesh, declared with meshstack: `stacks/dev.py` is the dev stack's spec.

    python -m venv venv && . venv/bin/activate && pip install -r requirements.txt
    meshstack validate dev && meshstack graph dev
    pulumi stack init dev && pulumi up --policy-pack "$(meshstack policy-pack)"

`meshstack diff dev` shows what a change does to the mesh (against the last commit).
"""


def _requirements() -> str:
    from meshstack import __version__ as version

    pinned = f">={version}" if "unknown" not in version else ""
    return f"meshstack[policy]{pinned}\n"


def files(name: str) -> dict[str, str]:
    """Each file of the new project, by path relative to its directory."""
    return {
        "Pulumi.yaml": _pulumi_yaml(name),
        "Pulumi.dev.yaml": _DEV_CONFIG,
        "__main__.py": _MAIN,
        "stacks/_common.py": _common(name),
        "stacks/dev.py": _dev(name),
        "requirements.txt": _requirements(),
        ".github/workflows/mesh-review.yml": _workflow(),
        ".gitignore": "venv/\n__pycache__/\nbuild/\n",
        "README.md": _readme(name),
    }


def init_project(directory: Path, name: str | None = None) -> list[Path]:
    """Write a new project into ``directory``; refuse before writing anything if any file
    it would write exists, or the name is not a Kubernetes namespace name."""
    name = name or directory.resolve().name
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} cannot name the project's namespace: use lowercase letters, digits and "
            "'-', starting with a letter (give one with --name)"
        )
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a directory")
    planned = {directory / path: text for path, text in files(name).items()}
    existing = sorted(str(path) for path in planned if path.exists())
    if existing:
        raise ScaffoldError(
            "refusing to overwrite: " + ", ".join(existing) + " (init writes a new project)"
        )
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(planned)
