"""Every stack applied by the real engine to a real kube-apiserver (etcd + kube-apiserver
from the toolchain on 127.0.0.1, no nodes).

The API server validates what render mode never does: Kubernetes' own rules for
Deployments and Services, Istio's custom resources against the CRDs (schemas and CEL
rules) that the base chart installs in the same ``up``, server-side diffs, deletes
and protect. No istiod runs, so Istio's validating webhook can never answer: these
stacks set ``meshstack:validationFailurePolicy`` to ``Ignore`` (a real cluster keeps
``Fail`` and istiod answers) and ``meshstack:skipAwait`` (no Deployment ever becomes
available without nodes).
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import ApiServer, start
from engine_stack import EngineStack, new_stack, require_toolchain
from meshstack.render import render
from meshstack.spec import MeshSpec
from meshstack.stacks import resolve_stack

pytestmark = [pytest.mark.engine, pytest.mark.cluster]

CLUSTER_CONFIG: dict[str, object] = {
    "meshstack:skipAwait": True,
    "meshstack:validationFailurePolicy": "Ignore",
}
SERVER_ADDED_ANNOTATIONS = {
    "pulumi.com/skipAwait",
    "kubectl.kubernetes.io/last-applied-configuration",
}


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[ApiServer]:
    """A fresh API server per test: stacks share namespace names, so each gets its own."""
    require_toolchain("etcd", "kube-apiserver")
    server = start(tmp_path / "apiserver")
    try:
        yield server
    finally:
        server.stop()


def cluster_stack(tmp_path: Path, name: str, server: ApiServer) -> EngineStack:
    return new_stack(
        tmp_path,
        name,
        render=False,
        config=CLUSTER_CONFIG,
        extra_env={"KUBECONFIG": str(server.kubeconfig)},
    )


def sent_within(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Where ``stored`` (what the server kept) differs from ``sent``: every field we sent
    must come back equal; fields the server defaulted are ignored."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return [f"{path}: sent a mapping, stored {stored!r}"]
        return [
            problem
            for key, value in sent.items()
            for problem in sent_within(value, stored.get(key), f"{path}.{key}")
        ]
    if isinstance(sent, list):
        if not isinstance(stored, list) or len(stored) != len(sent):
            return [f"{path}: sent {sent!r}, stored {stored!r}"]
        return [
            p
            for i, (a, b) in enumerate(zip(sent, stored, strict=True))
            for p in sent_within(a, b, f"{path}[{i}]")
        ]
    return [] if sent == stored else [f"{path}: sent {sent!r}, stored {stored!r}"]


def stored_objects(server: ApiServer, objects: list[dict[str, Any]]) -> dict[tuple[str, ...], Any]:
    """Read back every object of the kinds in ``objects`` (one kubectl call)."""
    kinds = sorted(
        {".".join(filter(None, (o["kind"], o["apiVersion"].rpartition("/")[0]))) for o in objects}
    )
    listed = json.loads(server.kubectl("get", ",".join(kinds), "-A", "-o", "json").stdout)
    return {
        (item["kind"], item["metadata"].get("namespace", ""), item["metadata"]["name"]): item
        for item in listed["items"]
    }


def stored_as_sent(sent: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Where the server's copy differs from what was sent, the annotations the provider
    and kubectl add aside."""
    annotations = found["metadata"].get("annotations") or {}
    kept = {k: v for k, v in annotations.items() if k not in SERVER_ADDED_ANNOTATIONS}
    metadata = {k: v for k, v in found["metadata"].items() if k != "annotations"}
    if kept:
        metadata["annotations"] = kept
    return sent_within(sent, {**found, "metadata": metadata})


def key_of(obj: dict[str, Any]) -> tuple[str, ...]:
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


@pytest.mark.parametrize("name", ("dev", "staging", "prod"))
def test_every_stack_is_accepted_and_stored_as_sent(
    name: str, tmp_path: Path, apiserver: ApiServer
) -> None:
    stack = cluster_stack(tmp_path, name, apiserver)
    stack.up()

    spec, problems = resolve_stack(name, stack.project)
    assert problems == []
    ours = render(spec)
    stored = stored_objects(apiserver, ours)
    for obj in ours:
        found = stored.get(key_of(obj))
        assert found is not None, f"{key_of(obj)} is not on the server"
        assert stored_as_sent(obj, found) == [], key_of(obj)
    crds = apiserver.kubectl("get", "crd", "-o", "name").stdout.split()
    assert (
        "customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io" in crds
    )
    uses_gateway_api = any(o["apiVersion"].startswith("gateway.networking.k8s.io") for o in ours)
    assert uses_gateway_api == (name == "dev")  # dev's Bookinfo enters through it
    assert uses_gateway_api == (
        "customresourcedefinition.apiextensions.k8s.io/httproutes.gateway.networking.k8s.io" in crds
    ), "the Gateway API's CRDs are installed exactly when a gateway uses that API"

    stack.up("--expect-no-changes")

    if name == "prod":
        refused = stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
        assert refused.returncode != 0 and "protected" in refused.stdout + refused.stderr
        assert apiserver.kubectl("get", "namespace", "bookinfo", check=False).returncode == 0
        stack.pulumi("state", "unprotect", "--all", "--yes")
    stack.destroy()
    assert stack.resource_types() == []
    # Istio's and the Gateway API's kinds are gone with their CRDs (checked below); the
    # core kinds one by one.
    custom = ("istio.io", "gateway.networking.k8s.io")
    core = [
        o
        for o in ours
        if o["kind"] != "Namespace" and not any(group in o["apiVersion"] for group in custom)
    ]
    remaining = stored_objects(apiserver, core)
    assert [k for k in remaining if k in {key_of(o) for o in core}] == []
    for namespace in spec.namespaces:
        # No namespace controller runs: a deleted namespace stays Terminating.
        got = apiserver.kubectl("get", "namespace", namespace.name, "-o", "json", check=False)
        assert got.returncode != 0 or "deletionTimestamp" in json.loads(got.stdout)["metadata"]
    left = apiserver.kubectl("get", "crd").stdout
    assert "virtualservices.networking.istio.io" not in left
    assert "httproutes.gateway.networking.k8s.io" not in left


def _without_last_virtual_service(stack: EngineStack) -> str:
    """Make the staged stack file drop its last VirtualService; returns that name."""
    staged = stack.project / "stacks"
    (staged / f"{stack.name}.py").rename(staged / f"_{stack.name}_base.py")
    (staged / f"{stack.name}.py").write_text(
        textwrap.dedent(
            f"""\
            import importlib.util
            from pathlib import Path

            _path = Path(__file__).with_name("_{stack.name}_base.py")
            _spec = importlib.util.spec_from_file_location("_base", _path)
            _base = importlib.util.module_from_spec(_spec)
            _spec.loader.exec_module(_base)


            def spec():
                full = _base.spec()
                routes = full.policy.virtual_services[:-1]
                policy = full.policy.model_copy(update={{"virtual_services": routes}})
                return full.model_copy(update={{"policy": policy}})
            """
        )
    )
    return _base_spec(stack).policy.virtual_services[-1].name


def _base_spec(stack: EngineStack) -> MeshSpec:
    """The stack file as it was before :func:`_without_last_virtual_service` wrapped it."""
    path = stack.project / "stacks" / f"_{stack.name}_base.py"
    module_spec = importlib.util.spec_from_file_location("_base", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    built: MeshSpec = module.spec()
    return built


def changes(stack: EngineStack) -> list[tuple[str, str]]:
    """What a preview would do, as (operation, resource name), unchanged ones left out."""
    steps = stack.preview_json().get("steps") or []
    return [
        (s["op"], s["urn"].rsplit("::", 1)[1]) for s in steps if s["op"] not in ("same", "read")
    ]


def test_changes_touch_exactly_their_objects(tmp_path: Path, apiserver: ApiServer) -> None:
    stack = cluster_stack(tmp_path, "staging", apiserver)
    stack.up()

    stack.set_config("meshstack:canaryWeights.reviews", "50", path=True)
    assert changes(stack) == [("update", "mesh-policy-virtualservice-bookinfo-reviews")]
    stack.up()
    stored = json.loads(
        apiserver.kubectl("get", "virtualservice", "reviews", "-n", "bookinfo", "-o", "json").stdout
    )
    assert [r["weight"] for r in stored["spec"]["http"][0]["route"]] == [50, 50]

    removed = _without_last_virtual_service(stack)
    namespace = next(
        v.namespace for v in _base_spec(stack).policy.virtual_services if v.name == removed
    )
    assert changes(stack) == [("delete", f"mesh-policy-virtualservice-{namespace}-{removed}")]
    stack.up()
    names = apiserver.kubectl("get", "virtualservice", "-A", "-o", "name").stdout
    assert f"virtualservice.networking.istio.io/{removed}\n" not in names


def test_a_custom_resource_the_server_rejects_reaches_the_user_by_name(
    tmp_path: Path, apiserver: ApiServer
) -> None:
    stack = cluster_stack(tmp_path, "dev", apiserver)
    stack.up()  # the CRDs
    program = stack.project / "__main__.py"
    program.write_text(
        program.read_text()
        + textwrap.dedent(
            """
            import pulumi_kubernetes as k8s

            k8s.apiextensions.CustomResource(
                "hand-written-broken-route",
                api_version="networking.istio.io/v1",
                kind="VirtualService",
                metadata={"name": "broken-route", "namespace": "bookinfo"},
                spec={"hosts": ["ratings"], "http": [{"route": [
                    {"destination": {"host": "ratings"}, "weight": "ninety"}]}]},
            )
            """
        )
    )

    failed = stack.pulumi("up", "--yes", "--skip-preview", check=False)

    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "broken-route" in output
    assert "weight" in output
