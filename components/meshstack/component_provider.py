"""meshstack as a Pulumi component provider, for programs not written in Python.

A Pulumi YAML program (or any language with a generated SDK) declares::

    resources:
      mesh:
        type: meshstack:index:MeshStack
        properties:
          stack: dev            # stacks/dev.py in the project, or:
          # spec: {stack: dev, namespaces: [...], apps: [...], ...}

The CLI starts ``meshstack-provider`` (installed with the package, and made a Pulumi plugin by
``meshstack provider-install``: :mod:`meshstack.provider_plugin`) as a provider plugin, asks it for its schema, and sends it a ``Construct`` for the component; the
provider then registers exactly what the Python program would (:mod:`meshstack.program`),
with the same config keys, overrides, production setting and errors. Its output
``namespaces`` lists the namespaces it manages.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.provider import ConstructResult, Provider
from pydantic import ValidationError

from meshstack import __version__, program
from meshstack.spec.mesh import MeshSpec

PACKAGE = "meshstack"
COMPONENT = f"{PACKAGE}:index:MeshStack"


def schema(version: str) -> dict[str, Any]:
    """The package schema the CLI and a YAML program read (no SDK generation needed)."""
    return {
        "name": PACKAGE,
        "version": version,
        "description": "Istio, its gateways and the whole mesh policy from one typed spec",
        "resources": {
            COMPONENT: {
                "isComponent": True,
                "description": "A stack's mesh: Istio's install, the apps and their policy.",
                "inputProperties": {
                    "stack": {
                        "type": "string",
                        "description": "Read the spec from stacks/<stack>.py in the project "
                        "(default: the Pulumi stack's name).",
                    },
                    "spec": {
                        "$ref": "pulumi.json#/Any",
                        "description": "The spec itself, as the fields of meshstack's "
                        "MeshSpec (instead of a stack file).",
                    },
                },
                "properties": {
                    "namespaces": {"type": "array", "items": {"type": "string"}},
                    "istioVersion": {"type": "string"},
                },
                "required": ["namespaces"],
            }
        },
    }


def _spec_from_values(values: Any) -> MeshSpec:
    try:
        return MeshSpec.model_validate(values)
    except ValidationError as error:
        lines = [
            f"spec.{'.'.join(str(p) for p in detail['loc'])}: {detail['msg']}"
            for detail in error.errors()
        ]
        raise pulumi.RunError(
            f"the MeshStack's spec has {len(lines)} problem(s); nothing was registered:\n  - "
            + "\n  - ".join(lines)
        ) from None


class MeshStackProvider(Provider):
    """Constructs :class:`~meshstack.components.MeshStack` for the engine."""

    def __init__(self) -> None:
        version = __version__
        super().__init__(version, json.dumps(schema(version)))

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        if resource_type != COMPONENT:
            raise pulumi.RunError(f"unknown resource type {resource_type!r}; this is {COMPONENT}")
        project = Path.cwd()
        if inputs.get("spec") is not None:
            spec = program.with_config(_spec_from_values(inputs["spec"]), project)
        else:
            spec = program.resolved(str(inputs.get("stack") or pulumi.get_stack()), project)
        mesh = program.deploy(spec, project, name=name, opts=options)
        state: dict[str, Any] = {"namespaces": sorted(mesh.namespaces.by_name)}
        if spec.install is not None:
            state["istioVersion"] = spec.install.version
        return ConstructResult(urn=mesh.urn, state=state)


def main() -> None:
    """``meshstack-provider ENGINE_ADDRESS``: serve until the engine stops us."""
    from pulumi.provider import main as serve

    serve(MeshStackProvider(), sys.argv[1:])
