"""Every custom resource a stack renders is accepted by its own CRD schema (Istio's or the
Gateway API's), strictly."""

from __future__ import annotations

import pytest
from istio_schemas import load_validators
from jsonschema import Draft7Validator
from meshstack.render import render_policy
from meshstack.spec import MeshSpec


@pytest.fixture(scope="module")
def validators() -> dict[tuple[str, str], Draft7Validator]:
    return load_validators()


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_istio_accepts_every_rendered_custom_resource(
    stack: str,
    stack_specs: dict[str, MeshSpec],
    validators: dict[tuple[str, str], Draft7Validator],
) -> None:
    errors = []
    for obj in render_policy(stack_specs[stack]):
        validator = validators.get((obj["apiVersion"], obj["kind"]))
        assert validator is not None, (
            f"no Istio or Gateway API CRD serves {obj['apiVersion']} {obj['kind']}"
        )
        for error in validator.iter_errors(obj["spec"]):
            where = ".".join(str(p) for p in error.absolute_path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} spec.{where}: {error.message}")
    assert errors == []


def test_the_strict_schema_rejects_a_misspelt_field(
    validators: dict[tuple[str, str], Draft7Validator],
) -> None:
    validator = validators[("security.istio.io/v1", "AuthorizationPolicy")]
    assert list(validator.iter_errors({"rules": [{"form": [{"source": {}}]}]}))
