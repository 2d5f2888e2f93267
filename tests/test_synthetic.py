"""The benchmark's synthetic meshes are valid specs of the promised shape at every size."""

from __future__ import annotations

from collections import Counter

import pytest
from meshstack.render import render
from meshstack.synthetic import synthetic_mesh
from meshstack.validation import validate


@pytest.mark.parametrize("services", [1, 2, 10, 57])
def test_a_synthetic_mesh_is_valid_and_has_seven_objects_per_service(services: int) -> None:
    spec = synthetic_mesh(services)
    assert validate(spec) == []
    kinds = Counter(obj["kind"] for obj in render(spec))
    assert kinds["Deployment"] == 2 * services  # stable and canary candidate
    assert kinds["VirtualService"] == kinds["DestinationRule"] == services
    assert kinds["ServiceAccount"] == kinds["Service"] == services
    assert kinds["AuthorizationPolicy"] == (services - 1) + kinds["Namespace"]  # + default-deny
    assert kinds["PeerAuthentication"] == 1


def test_every_destination_rule_has_subsets_and_outlier_detection() -> None:
    rules = [o for o in render(synthetic_mesh(10)) if o["kind"] == "DestinationRule"]
    for rule in rules:
        assert [s["name"] for s in rule["spec"]["subsets"]] == ["v1", "v2"]
        assert rule["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 3
