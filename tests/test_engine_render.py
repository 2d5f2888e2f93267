"""The real Pulumi engine on every stack, in render mode: up, a no-op second up, destroy.

What render mode proves: the CLI, the Python language host and the Kubernetes
provider accept the program as a user runs it (``pulumi up``), Istio's charts
render from the pinned module, and what reaches the provider is exactly what
``meshstack render`` says the project defines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_stack import EngineStack, new_stack, require_toolchain
from istio_agreement import egress_disagreements, entry_disagreements, graph_disagreements
from istioctl import analyze, unjustified
from meshstack.render import render
from meshstack.stacks import resolve_stack

pytestmark = pytest.mark.engine

STACKS = ("dev", "staging", "prod")
MANAGED_BY = "app.kubernetes.io/managed-by"


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def rendered_objects(directory: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Every object the provider wrote under ``directory``, by identity."""
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and "kind" in document:
                found[object_key(document)] = document
    return found


def without_provider_labels(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the managed-by label the provider adds where none is set."""
    meta = dict(obj.get("metadata") or {})
    labels = {
        k: v for k, v in (meta.get("labels") or {}).items() if (k, v) != (MANAGED_BY, "pulumi")
    }
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return {**obj, "metadata": meta}


def our_objects(stack: EngineStack) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """What ``meshstack render`` defines for the staged stack (its config applied)."""
    spec, problems = resolve_stack(stack.name, stack.project)
    assert problems == []
    return {object_key(obj): obj for obj in render(spec)}


@pytest.mark.parametrize("name", STACKS)
def test_up_renders_everything_then_changes_nothing_then_destroys_cleanly(
    name: str, tmp_path: Path
) -> None:
    stack = new_stack(tmp_path, name)
    assert stack.render_dir is not None
    stack.up()

    written = rendered_objects(stack.render_dir)
    ours = our_objects(stack)
    missing = sorted(set(ours) - set(written))
    assert missing == [], f"objects meshstack defines that the engine did not render: {missing}"
    for key, obj in ours.items():
        assert without_provider_labels(written[key]) == obj, key

    kinds = {(key[1], key[3]) for key in written}
    assert any(kind == "CustomResourceDefinition" and n.endswith(".istio.io") for kind, n in kinds)
    # IstioInstall.crd_descriptions: the transform strips the prose of every CRD, charts' too.
    crds = [o for o in written.values() if o["kind"] == "CustomResourceDefinition"]
    described = [o["metadata"]["name"] for o in crds if '"description": "' in json.dumps(o)]
    keeps_prose = resolve_stack(stack.name, stack.project)[0].install.crd_descriptions  # type: ignore[union-attr]
    assert described == ([o["metadata"]["name"] for o in crds] if keeps_prose else [])
    assert any(kind == "Deployment" and n.startswith("istiod") for kind, n in kinds)
    assert ("Deployment", "istio-ingressgateway") in kinds
    images = [
        c["image"]
        for obj in written.values()
        if obj["kind"] == "Deployment"
        for c in obj["spec"]["template"]["spec"]["containers"]
    ]
    assert not [i for i in images if i.endswith(":latest")], images
    # Istio's analyzer over everything the engine rendered, Istio's charts included.
    assert unjustified(analyze(stack.render_dir)) == []
    # Istio's control plane on the same objects: graph's verdicts are its verdicts.
    require_toolchain("judge")
    spec, _ = resolve_stack(stack.name, stack.project)
    objects = list(written.values())
    wrong, judged = graph_disagreements(spec, objects)
    assert judged > 0 and wrong == []
    # ... and so are its Ingress and Egress sections.
    assert entry_disagreements(spec, objects)[0] == []
    assert egress_disagreements(spec, objects)[0] == []

    second = stack.up("--expect-no-changes")
    assert "unchanged" in second.stdout

    if name == "prod":
        refused = stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
        assert refused.returncode != 0
        assert "protected" in (refused.stdout + refused.stderr)
        assert rendered_objects(stack.render_dir), "a refused destroy must delete nothing"
        stack.pulumi("state", "unprotect", "--all", "--yes")
    stack.destroy()
    left = sorted(str(p.relative_to(stack.render_dir)) for p in stack.render_dir.rglob("*.yaml"))
    assert left == [], f"destroy left rendered files behind: {left}"
    assert stack.resource_types() == []
