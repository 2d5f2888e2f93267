"""The real kube-apiserver judges the Kubernetes value formats our validation refuses.

Quantities and label keys and values are parsed by the API server, not by Istio's analyzer:
for each such example of ``test_validation_strict.STRICT`` the rendered workload objects
are sent to a real API server (server-side dry run) and must be refused, while the same
objects of the valid spec are accepted. Where the server accepts what we refuse, the
example says why (image references are only checked by the kubelet when it pulls).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from builders import shop
from cluster import ApiServer, start
from engine_stack import require_toolchain
from meshstack.render import render_workloads_list
from meshstack.spec import MeshSpec
from test_validation_strict import STRICT

pytestmark = pytest.mark.cluster

SERVER_REFUSES = {
    "CPU quantity with a space": "quantities must match",
    "memory quantity in an unknown unit": "quantities must match",
    "label key the API server refuses": "name part must consist of",
    "label value the API server refuses": "a valid label must be",
}
"""Example → a phrase of the API server's own refusal."""


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    require_toolchain("etcd", "kube-apiserver")
    server = start(tmp_path_factory.mktemp("apiserver"))
    try:
        yield server
    finally:
        server.stop()


def _dry_run(server: ApiServer, spec: MeshSpec, workdir: Path) -> tuple[int, str]:
    """Create the namespaces for real, then send every workload object as a server-side dry run."""
    objects = render_workloads_list(spec)
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    workdir.mkdir()
    (workdir / "namespaces.yaml").write_text(
        yaml.safe_dump_all([{**o, "metadata": {"name": o["metadata"]["name"]}} for o in namespaces])
    )
    server.kubectl("apply", "-f", str(workdir / "namespaces.yaml"))
    (workdir / "objects.yaml").write_text(yaml.safe_dump_all(objects))
    done = server.kubectl(
        "apply", "--dry-run=server", "-f", str(workdir / "objects.yaml"), check=False
    )
    return done.returncode, done.stderr


def test_the_api_server_accepts_the_valid_spec(apiserver: ApiServer, tmp_path: Path) -> None:
    code, err = _dry_run(apiserver, shop(), tmp_path / "valid")
    assert code == 0, err


@pytest.mark.parametrize("case", sorted(SERVER_REFUSES))
def test_the_api_server_refuses_what_we_refuse(
    apiserver: ApiServer, tmp_path: Path, case: str
) -> None:
    code, err = _dry_run(apiserver, STRICT[case][0](), tmp_path / "case")
    assert code != 0
    assert SERVER_REFUSES[case] in err, err
