"""Istio's and the Gateway API's own CRD schemas, from the pinned ``istio.io/istio`` and
``sigs.k8s.io/gateway-api`` Go modules, as strict validators.

Go (on every build machine) fetches the modules through the module proxy; Istio's CRDs
ship in its base chart, the Gateway API's in ``config/crd/standard``. "Strict" means what
the API server's strict field validation means: a field the schema does not declare is an
error. (CEL rules, ``x-kubernetes-validations``, are the API server's to judge:
``test_engine_cluster`` applies the same objects to a real one.)
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from engine import gateway_api_crds_dir, istio_module_dir
from jsonschema import Draft7Validator

CRDS_IN_MODULE = "manifests/charts/base/files/crd-all.gen.yaml"


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
    crds = [
        *yaml.safe_load_all((istio_module_dir() / CRDS_IN_MODULE).read_text()),
        *(
            crd
            for crd_file in sorted(gateway_api_crds_dir().glob("*.yaml"))
            for crd in yaml.safe_load_all(crd_file.read_text())
        ),
    ]
    validators = {}
    for crd in crds:
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            spec_schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
            validators[(f"{group}/{version['name']}", kind)] = Draft7Validator(_strict(spec_schema))
    return validators
