"""Sample workloads as a platform team would ship them (issue 14 §5), checked on prod.

Every prod Deployment: readiness and liveness probes (the apps' own health endpoints),
requests and limits, a pinned image, non-root, a read-only root filesystem with
writable scratch directories mounted where the app writes, all capabilities dropped,
the runtime's seccomp profile; a PodDisruptionBudget for every workload with more than
one replica. The schema and API-server tests judge the same objects' shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import shop
from meshstack.apps.online_boutique import REDIS_IMAGE
from meshstack.guardrails.images import floating_tag
from meshstack.render import render
from meshstack.spec import MeshSpec
from meshstack.spec.workloads import ContainerSecurity, Probe, ProbeKind
from meshstack.validation import validate


def _deployments(spec: MeshSpec) -> dict[str, dict[str, Any]]:
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o
        for o in render(spec)
        if o["kind"] == "Deployment"
    }


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_every_prod_deployment_has_probes_from_its_app(stack_specs: dict[str, MeshSpec]) -> None:
    deployments = _deployments(stack_specs["prod"])
    assert deployments
    for name, deployment in deployments.items():
        container = _container(deployment)
        assert "readinessProbe" in container and "livenessProbe" in container, name
    productpage = _container(deployments["bookinfo/productpage-v1"])
    assert productpage["readinessProbe"]["httpGet"] == {"path": "/health", "port": 9080}
    cart = _container(deployments["hipster-shop/cartservice-v1"])
    assert cart["readinessProbe"]["grpc"] == {"port": 7070}
    assert cart["readinessProbe"]["initialDelaySeconds"] == 15
    frontend = _container(deployments["hipster-shop/frontend-v1"])
    assert frontend["readinessProbe"]["httpGet"]["path"] == "/_healthz"
    assert frontend["readinessProbe"]["httpGet"]["httpHeaders"] == [
        {"name": "Cookie", "value": "shop_session-id=x-readiness-probe"}
    ]
    redis = _container(deployments["hipster-shop/redis-cart-v1"])
    assert redis["livenessProbe"]["tcpSocket"] == {"port": 6379}


def test_every_prod_deployment_has_requests_and_limits(stack_specs: dict[str, MeshSpec]) -> None:
    for name, deployment in _deployments(stack_specs["prod"]).items():
        resources = _container(deployment).get("resources", {})
        assert set(resources.get("requests", {})) == {"cpu", "memory"}, name
        assert set(resources.get("limits", {})) == {"cpu", "memory"}, name


def test_every_prod_deployment_is_locked_down(stack_specs: dict[str, MeshSpec]) -> None:
    for name, deployment in _deployments(stack_specs["prod"]).items():
        pod = deployment["spec"]["template"]["spec"]
        container = _container(deployment)
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert floating_tag(container["image"]) is None, name
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert set(mounts) == set(volumes), name
        assert all(v == {"name": n, "emptyDir": {}} for n, v in volumes.items()), name


def test_apps_write_only_to_their_scratch_directories(stack_specs: dict[str, MeshSpec]) -> None:
    deployments = _deployments(stack_specs["prod"])

    def paths(name: str) -> set[str]:
        return {m["mountPath"] for m in _container(deployments[name]).get("volumeMounts", [])}

    assert paths("bookinfo/reviews-v1") == {"/tmp", "/opt/ibm/wlp/output"}
    assert paths("bookinfo/productpage-v1") == {"/tmp"}
    assert paths("hipster-shop/redis-cart-v1") == {"/data"}


def test_redis_runs_as_a_user_on_a_pinned_image(stack_specs: dict[str, MeshSpec]) -> None:
    assert floating_tag(REDIS_IMAGE) is None and "alpine" in REDIS_IMAGE
    redis = _container(_deployments(stack_specs["prod"])["hipster-shop/redis-cart-v1"])
    assert redis["securityContext"]["runAsNonRoot"] is True
    assert redis["securityContext"]["runAsUser"] != 0


def test_multi_replica_workloads_get_a_disruption_budget(stack_specs: dict[str, MeshSpec]) -> None:
    prod = stack_specs["prod"]
    objects = render(prod)
    budgets = {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["spec"]
        for o in objects
        if o["kind"] == "PodDisruptionBudget"
    }
    several = {
        f"{app.namespace}/{w.name}"
        for app in prod.apps
        for w in app.workloads
        if sum(v.replicas if v.replicas is not None else w.replicas for v in w.versions) > 1
    }
    assert several, "prod runs several replicas of something"
    assert set(budgets) == several
    for name, budget in budgets.items():
        assert budget == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app": name.split("/")[1]}},
        }


def test_security_defaults_are_overridable_per_workload() -> None:
    spec = shop()
    app = spec.apps[0]
    relaxed = app.workloads[0].model_copy(
        update={"security": ContainerSecurity(read_only_root_filesystem=False, run_as_user=None)}
    )
    spec = spec.model_copy(
        update={"apps": (app.model_copy(update={"workloads": (relaxed, *app.workloads[1:])}),)}
    )
    context = _container(_deployments(spec)["shop/web-v1"])["securityContext"]
    assert context["readOnlyRootFilesystem"] is False and "runAsUser" not in context


@pytest.mark.parametrize(
    ("probe", "path", "message"),
    [
        (Probe(kind=ProbeKind.HTTP, port=8080), "readiness.path", "an HTTP probe needs a path"),
        (Probe(kind=ProbeKind.GRPC, port=9999), "readiness.port", "not a container port of 'web'"),
        (Probe(kind=ProbeKind.TCP, port=8080, path="/x"), "readiness.path", "only HTTP probes"),
    ],
    ids=("http without path", "unknown port", "path on tcp"),
)
def test_a_probe_that_cannot_work_is_an_error(probe: Probe, path: str, message: str) -> None:
    spec = shop()
    app = spec.apps[0]
    web = app.workloads[0].model_copy(update={"readiness": probe})
    spec = spec.model_copy(
        update={"apps": (app.model_copy(update={"workloads": (web, *app.workloads[1:])}),)}
    )
    problems = validate(spec)
    assert any(
        p.path == f"apps[shop].workloads[web].{path}" and message in p.message for p in problems
    ), [str(p) for p in problems]
