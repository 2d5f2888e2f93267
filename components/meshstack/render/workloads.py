"""Namespaces, service accounts, Services and Deployments (canary candidates included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshstack.k8s import K8sObject, drop_none, k8s_object
from meshstack.render.machines import machine_objects
from meshstack.render.probes import probe_values
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, service_key
from meshstack.spec.workloads import (
    ContainerSecurity,
    Namespace,
    Resources,
    SidecarInjection,
    Version,
    Workload,
)


def waypoint_labels(waypoint: str) -> dict[str, str]:
    """What sends a namespace's or a Service's traffic, ingress traffic included, through
    ``waypoint``."""
    return {"istio.io/use-waypoint": waypoint, "istio.io/ingress-use-waypoint": "true"}


def namespace_object(ns: Namespace) -> K8sObject:
    """Sidecar namespaces say how sidecars are injected; ambient ones carry ztunnel's
    ``istio.io/dataplane-mode`` and, with a waypoint, send their services' traffic (from
    ingress gateways too) through it."""
    labels = dict(ns.labels)
    if ns.ambient:
        labels["istio.io/dataplane-mode"] = "ambient"
        if ns.waypoint is not None:
            labels.update(waypoint_labels(ns.waypoint.name))
    elif ns.injection is SidecarInjection.REVISION:
        labels["istio.io/rev"] = ns.revision or ""
    else:
        labels["istio-injection"] = ns.injection.value
    return k8s_object("v1", "Namespace", ns.name, None, labels=labels)


def resources_values(res: Resources | None) -> dict[str, Any] | None:
    if res is None:
        return None
    requests = drop_none({"cpu": res.cpu_request, "memory": res.memory_request})
    limits = drop_none({"cpu": res.cpu_limit, "memory": res.memory_limit})
    return drop_none({"requests": requests or None, "limits": limits or None}) or None


def container_security(security: ContainerSecurity) -> dict[str, Any]:
    return drop_none(
        {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": security.read_only_root_filesystem,
            "runAsNonRoot": security.run_as_non_root,
            "runAsUser": security.run_as_user,
            "capabilities": {"drop": list(security.drop_capabilities)}
            if security.drop_capabilities
            else None,
        }
    )


def scratch_volume_name(index: int) -> str:
    return f"scratch-{index}"


def service_object(workload: Workload, namespace: str) -> K8sObject:
    """The workload's Service; with a waypoint of its own, labelled to use it (for
    ingress traffic too)."""
    labels = {"app": workload.name, "service": workload.name}
    if workload.waypoint is not None:
        labels.update(waypoint_labels(workload.waypoint.name))
    return k8s_object(
        "v1",
        "Service",
        workload.name,
        namespace,
        labels=labels,
        spec={
            "selector": {"app": workload.name},
            "ports": [
                {
                    "name": port.port_name,
                    "port": port.number,
                    "targetPort": port.container_port,
                    "protocol": "TCP",
                }
                for port in workload.ports
            ],
        },
    )


def deployment_object(workload: Workload, version: Version, namespace: str) -> K8sObject:
    labels = {"app": workload.name, "version": version.name}
    env = {**workload.env, **version.env}
    security = workload.security
    writable = list(enumerate(security.writable_paths))
    container = drop_none(
        {
            "name": workload.name,
            "image": version.image,
            "ports": [{"containerPort": p.container_port} for p in workload.ports] or None,
            "env": [{"name": k, "value": v} for k, v in env.items()] or None,
            "resources": resources_values(workload.resources),
            "readinessProbe": probe_values(workload.readiness),
            "livenessProbe": probe_values(workload.liveness),
            "securityContext": container_security(security),
            "volumeMounts": [
                {"name": scratch_volume_name(i), "mountPath": path} for i, path in writable
            ]
            or None,
        }
    )
    pod_security = drop_none(
        {
            "fsGroup": security.run_as_user,
            "seccompProfile": {"type": security.seccomp_profile.value}
            if security.seccomp_profile
            else None,
        }
    )
    pod = drop_none(
        {
            "serviceAccountName": workload.identity,
            "securityContext": pod_security or None,
            "containers": [container],
            "volumes": [{"name": scratch_volume_name(i), "emptyDir": {}} for i, _ in writable]
            or None,
        }
    )
    return k8s_object(
        "apps/v1",
        "Deployment",
        f"{workload.name}-{version.name}",
        namespace,
        labels=labels,
        spec={
            "replicas": replicas_of(workload, version),
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    )


def replicas_of(workload: Workload, version: Version) -> int:
    """The version's own replica count, else the workload's."""
    return version.replicas if version.replicas is not None else workload.replicas


def total_replicas(workload: Workload, extra: Version | None = None) -> int:
    versions = [*workload.versions, *([extra] if extra else [])]
    return sum(replicas_of(workload, v) for v in versions)


def disruption_budget(workload: Workload, namespace: str) -> K8sObject:
    """At most ``disruption_budget`` of the workload's pods (all versions) down in a drain."""
    return k8s_object(
        "policy/v1",
        "PodDisruptionBudget",
        workload.name,
        namespace,
        labels={"app": workload.name},
        spec={
            "maxUnavailable": workload.disruption_budget,
            "selector": {"matchLabels": {"app": workload.name}},
        },
    )


def canary_versions(spec: MeshSpec) -> dict[ServiceKey, Version]:
    """Candidate versions that canaries add to workloads that do not declare them."""
    added: dict[ServiceKey, Version] = {}
    declared = {ServiceKey(app.namespace, w.name): w for app in spec.apps for w in app.workloads}
    for canary in spec.policy.canaries:
        key = service_key(canary.service, canary.namespace, spec.cluster_domain)
        workload = declared.get(key)
        if workload is None or any(v.name == canary.candidate for v in workload.versions):
            continue
        if canary.candidate_image:
            added[key] = Version(name=canary.candidate, image=canary.candidate_image)
    return added


def render_workloads(spec: MeshSpec) -> Iterator[K8sObject]:
    for ns in spec.namespaces:
        yield namespace_object(ns)
    candidates = canary_versions(spec)
    for app in spec.apps:
        accounts: set[str] = set()
        for workload in app.workloads:
            if workload.identity not in accounts:
                accounts.add(workload.identity)
                yield k8s_object(
                    "v1",
                    "ServiceAccount",
                    workload.identity,
                    app.namespace,
                    labels={"app": workload.name},
                )
            if workload.ports:
                yield service_object(workload, app.namespace)
            if not spec.runs_in(app.namespace, workload, spec.cluster_view):
                # Its Service and account exist in every cluster of the mesh (callers'
                # DNS and istiod need them); its pods only where it is placed.
                continue
            if workload.virtual_machines is not None:
                yield from machine_objects(workload, app.namespace)
                continue
            for version in workload.versions:
                yield deployment_object(workload, version, app.namespace)
            candidate = candidates.get(ServiceKey(app.namespace, workload.name))
            if candidate is not None:
                yield deployment_object(workload, candidate, app.namespace)
            if workload.disruption_budget and total_replicas(workload, candidate) > 1:
                yield disruption_budget(workload, app.namespace)
