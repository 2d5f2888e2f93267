"""Istio's own CRD schemas, from the pinned ``istio.io/istio`` Go module, as strict validators.

Go (on every build machine) fetches the module through the module proxy; the
CRDs ship in its base chart. "Strict" means what the API server's strict
field validation means: a field the schema does not declare is an error.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

ISTIO_MODULE = "istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad"
CRDS_IN_MODULE = "manifests/charts/base/files/crd-all.gen.yaml"


def istio_module_dir() -> Path:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to fetch Istio's CRDs (go mod download)")
    result = subprocess.run(
        [go, "mod", "download", "-json", ISTIO_MODULE],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    )
    return Path(json.loads(result.stdout)["Dir"])


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
                and "additionalProperties" not in node
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def load_validators() -> dict[tuple[str, str], Draft7Validator]:
    """``(apiVersion, kind)`` → validator of the object's ``spec``."""
    crds = yaml.safe_load_all((istio_module_dir() / CRDS_IN_MODULE).read_text())
    validators = {}
    for crd in crds:
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            spec_schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
            validators[(f"{group}/{version['name']}", kind)] = Draft7Validator(_strict(spec_schema))
    return validators
