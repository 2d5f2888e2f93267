"""Workloads on virtual machines (issue 15 §4): a WorkloadGroup and WorkloadEntries that the
mesh treats like pods.

What is judged is meaning: the Service, the subsets and the policies must select the
machines' entries by their labels (checked the way Kubernetes and Istio match label
selectors), and who may call the workload must not change when it moves from pods to
machines. The objects pass Istio's CRD schemas here; staging, which runs its ratings
database on machines, is applied to a real API server and analyzed by istioctl in
``test_engine_cluster`` and ``test_engine_render``.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import shop
from istio_schemas import load_validators
from meshstack.access.graph import who_can_call_whom
from meshstack.overrides import apply_overrides
from meshstack.render import render
from meshstack.spec import (
    AuthorizationPolicy,
    AuthorizationRule,
    Canary,
    MeshSpec,
    Probe,
    ProbeKind,
    RequestSource,
    Version,
    VirtualMachines,
)
from meshstack.validation import validate

ON_MACHINES = VirtualMachines(addresses=("192.0.2.20", "192.0.2.21"))


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _on_machines(spec: MeshSpec, name: str, **fields: Any) -> MeshSpec:
    """``spec`` with workload ``name`` moved onto machines (one imageless version)."""
    apps = []
    for app in spec.apps:
        workloads = tuple(
            w.model_copy(
                update={
                    "virtual_machines": ON_MACHINES,
                    "versions": (Version(name="v1"),),
                    **fields,
                }
            )
            if w.name == name
            else w
            for w in app.workloads
        )
        apps.append(app.model_copy(update={"workloads": workloads}))
    return spec.model_copy(update={"apps": tuple(apps)})


def _locked_down() -> MeshSpec:
    """web → api, with default-deny and one ALLOW rule for web's identity."""
    allow = AuthorizationPolicy(
        name="api-from-web",
        namespace="shop",
        workload="api",
        rules=(AuthorizationRule(sources=(RequestSource(service_accounts=("shop/web",)),)),),
    )
    return shop(
        destination_policies=(), default_deny_namespaces=("shop",), authorization_policies=(allow,)
    )


def test_staging_runs_its_ratings_database_on_machines_the_mesh_selects_like_pods(
    stack_specs: dict[str, MeshSpec],
) -> None:
    objects = render(stack_specs["staging"])
    mine = [o for o in objects if o["metadata"]["name"].startswith("mysqldb")]
    kinds = sorted(o["kind"] for o in mine)
    assert kinds == [
        "AuthorizationPolicy",
        "Service",
        "ServiceAccount",
        "WorkloadEntry",
        "WorkloadEntry",
        "WorkloadGroup",
    ]
    entries = [o for o in mine if o["kind"] == "WorkloadEntry"]
    assert sorted(e["spec"]["address"] for e in entries) == ["192.0.2.10", "192.0.2.11"]
    (service,) = [o for o in mine if o["kind"] == "Service"]
    (group,) = [o for o in mine if o["kind"] == "WorkloadGroup"]
    (policy,) = [o for o in mine if o["kind"] == "AuthorizationPolicy"]
    (account,) = [o for o in mine if o["kind"] == "ServiceAccount"]
    for labels in [e["spec"]["labels"] for e in entries] + [group["spec"]["metadata"]["labels"]]:
        assert _selects(service["spec"]["selector"], labels), "the Service misses a machine"
        assert _selects(policy["spec"]["selector"]["matchLabels"], labels), "policy misses it"
    identities = {e["spec"]["serviceAccount"] for e in entries}
    assert (
        identities == {group["spec"]["template"]["serviceAccount"]} == {account["metadata"]["name"]}
    )
    assert group["spec"]["probe"]["tcpSocket"] == {"port": 3306}
    assert policy["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/bookinfo/sa/bookinfo-ratings"
    ]
    assert not [
        o
        for o in objects
        if o["kind"] in ("Deployment", "PodDisruptionBudget")
        and o["metadata"]["name"].startswith("mysqldb")
    ]


def test_machine_objects_pass_istios_crd_schemas(stack_specs: dict[str, MeshSpec]) -> None:
    validators = load_validators()
    checked = 0
    for obj in render(stack_specs["staging"]):
        if obj["kind"] in ("WorkloadGroup", "WorkloadEntry"):
            validator = validators[(obj["apiVersion"], obj["kind"])]
            assert [e.message for e in validator.iter_errors(obj["spec"])] == []
            checked += 1
    assert checked == 3


def test_moving_a_workload_onto_machines_keeps_who_may_call_it() -> None:
    pods = _locked_down()
    machines = _on_machines(pods, "api")
    assert validate(machines) == []

    def verdicts(spec: MeshSpec) -> dict[tuple[str, str], str]:
        return {(c.caller, c.callee): c.verdict.value for c in who_can_call_whom(spec)}

    assert verdicts(machines) == verdicts(pods)
    assert "allowed" in verdicts(machines).values()
    rendered = render(machines)
    (group,) = [o for o in rendered if o["kind"] == "WorkloadGroup"]
    (policy,) = [o for o in rendered if o["metadata"]["name"] == "api-from-web"]
    assert _selects(policy["spec"]["selector"]["matchLabels"], group["spec"]["metadata"]["labels"])
    assert not [o for o in rendered if o["kind"] == "Deployment" and "api" in o["metadata"]["name"]]


MISTAKES: dict[str, tuple[dict[str, Any], str, str]] = {
    "an image on machines": (
        {"versions": (Version(name="v1", image="api:1"),)},
        "apps[shop].workloads[api].versions[v1].image",
        "leave image unset",
    ),
    "two versions on machines": (
        {"versions": (Version(name="v1"), Version(name="v2"))},
        "apps[shop].workloads[api].versions",
        "one version",
    ),
    "replicas of machines": (
        {"replicas": 3},
        "apps[shop].workloads[api].replicas",
        "counted by virtual_machines.addresses",
    ),
    "a liveness probe on machines": (
        {"liveness": Probe(kind=ProbeKind.TCP, port=9090)},
        "apps[shop].workloads[api].liveness",
        "readiness probe only",
    ),
    "one machine listed twice": (
        {"virtual_machines": VirtualMachines(addresses=("192.0.2.20", "192.0.2.20"))},
        "apps[shop].workloads[api].virtual_machines.addresses[1]",
        "is declared twice",
    ),
}


@pytest.mark.parametrize("case", sorted(MISTAKES), ids=str)
def test_a_machine_mistake_is_reported_at_its_path(case: str) -> None:
    fields, path, message = MISTAKES[case]
    problems = validate(_on_machines(shop(destination_policies=()), "api", **fields))
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_a_pod_workload_without_an_image_is_an_error() -> None:
    spec = _on_machines(shop(destination_policies=()), "api")
    apps = [
        app.model_copy(
            update={
                "workloads": tuple(
                    w.model_copy(update={"virtual_machines": None}) for w in app.workloads
                )
            }
        )
        for app in spec.apps
    ]
    problems = validate(spec.model_copy(update={"apps": tuple(apps)}))
    assert [p.path for p in problems] == ["apps[shop].workloads[api].versions[v1].image"]


def test_a_canary_or_a_config_override_on_machines_is_an_error() -> None:
    canary = Canary(service="api", namespace="shop", stable="v1", candidate="v2", weight=10)
    spec = _on_machines(shop(destination_policies=(), canaries=(canary,)), "api")
    assert [p.path for p in validate(spec)] == ["policy.canaries[api].service"]

    _, problems = apply_overrides(_on_machines(shop(), "api"), {"imageTags": {"api": "2.0"}})
    assert [p.path for p in problems] == ["meshstack:imageTags.api"]
    _, problems = apply_overrides(_on_machines(shop(), "api"), {"replicas": {"api": 2}})
    assert [p.path for p in problems] == ["meshstack:replicas.api"]
