"""Pure renderers: a :class:`~meshstack.spec.MeshSpec` → Kubernetes objects as plain dicts.

Workloads and mesh policy render separately because they deploy in different
order: policy custom resources must wait for Istio's CRDs.
"""

from __future__ import annotations

from meshstack.gateway_api.objects import render_gateway_api
from meshstack.k8s import K8sObject
from meshstack.render.addons import addon_releases
from meshstack.render.charts import HelmRelease
from meshstack.render.edge import render_edge
from meshstack.render.install import istio_releases
from meshstack.render.proxy import render_proxy
from meshstack.render.security import render_security
from meshstack.render.slo import prometheus_rules
from meshstack.render.traffic import render_traffic
from meshstack.render.workloads import render_workloads
from meshstack.runtime import collector_paused
from meshstack.spec.mesh import MeshSpec

__all__ = ["K8sObject", "render", "render_policy", "render_workloads_list", "stack_releases"]


def render_workloads_list(spec: MeshSpec) -> list[K8sObject]:
    """Namespaces, service accounts, Services and Deployments."""
    with collector_paused():
        return list(render_workloads(spec))


def render_policy(spec: MeshSpec) -> list[K8sObject]:
    """Every Istio custom resource of the spec."""
    with collector_paused():
        return [
            *render_edge(spec),
            *render_gateway_api(spec),
            *render_traffic(spec),
            *render_security(spec),
            *render_proxy(spec),
        ]


def render(spec: MeshSpec) -> list[K8sObject]:
    """All objects the project defines for the stack, workloads first, then Istio's
    policy, then the SLOs' ``PrometheusRule`` objects (when the Operator loads them)."""
    return [*render_workloads_list(spec), *render_policy(spec), *prometheus_rules(spec.policy)]


def stack_releases(spec: MeshSpec) -> list[HelmRelease]:
    """The Helm releases the stack installs: Istio's (if it installs Istio), then add-ons."""
    releases = istio_releases(spec.install, spec.trust) if spec.install else []
    istio_namespace = spec.install.namespace if spec.install else spec.root_namespace
    return releases + addon_releases(spec.addons, istio_namespace, spec.policy.addon_slos)
