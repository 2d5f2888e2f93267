"""Observability add-ons as Helm releases, wired to each other by in-cluster URLs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshstack.render.charts import ChartRef, HelmRelease, deep_merge
from meshstack.render.slo import rule_files
from meshstack.render.workloads import resources_values
from meshstack.spec.addons import AddonChart, Addons, Grafana, Jaeger, Kiali, Prometheus
from meshstack.spec.slo import ServiceLevelObjective

GRAFANA_ADMIN_SECRET = "grafana-admin"
"""The Secret (in the add-ons namespace) holding Grafana's generated admin credentials."""
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"

PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000
JAEGER_QUERY_PORT = 16686


def _ref(chart: AddonChart) -> ChartRef:
    if chart.repository.startswith("oci://"):
        return ChartRef(chart=f"{chart.repository.rstrip('/')}/{chart.name}", version=chart.version)
    if chart.repository.startswith(("https://", "http://")):
        return ChartRef(chart=chart.name, version=chart.version, repository=chart.repository)
    return ChartRef(chart=chart.repository, version=None)


def prometheus_url(namespace: str) -> str:
    return f"http://prometheus.{namespace}:{PROMETHEUS_PORT}"


def prometheus_values(
    spec: Prometheus, slos: Sequence[ServiceLevelObjective] = ()
) -> dict[str, Any]:
    """The chart's values; the SLOs' rules as the rule files its server loads."""
    server: dict[str, Any] = {
        "fullnameOverride": "prometheus",
        "retention": spec.retention,
        "persistentVolume": {"enabled": False},
        "global": {"scrape_interval": spec.scrape_interval},
        "service": {"servicePort": PROMETHEUS_PORT},
        "podAnnotations": {"sidecar.istio.io/inject": "false"},
    }
    resources = resources_values(spec.resources)
    if resources:
        server["resources"] = resources
    values: dict[str, Any] = {
        "server": server,
        "alertmanager": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        "kube-state-metrics": {"enabled": False},
        "prometheus-node-exporter": {"enabled": False},
    }
    if slos:
        values["serverFiles"] = rule_files(slos)
    return deep_merge(values, spec.values)


def grafana_values(spec: Grafana, namespace: str) -> dict[str, Any]:
    values = {
        "admin": {
            "existingSecret": GRAFANA_ADMIN_SECRET,
            "userKey": GRAFANA_USER_KEY,
            "passwordKey": GRAFANA_PASSWORD_KEY,
        },
        "service": {"port": GRAFANA_PORT},
        "podAnnotations": {"sidecar.istio.io/inject": "false"},
        "grafana.ini": {
            "auth.anonymous": {"enabled": spec.anonymous_access, "org_role": "Viewer"},
            "users": {"allow_sign_up": False},
        },
        "datasources": {
            "datasources.yaml": {
                "apiVersion": 1,
                "datasources": [
                    {
                        "name": "Prometheus",
                        "type": "prometheus",
                        "access": "proxy",
                        "url": prometheus_url(namespace),
                        "isDefault": True,
                    }
                ],
            }
        },
    }
    return deep_merge(values, spec.values)


def jaeger_values(spec: Jaeger) -> dict[str, Any]:
    values = {"provisionDataStore": {"cassandra": False}, "storage": {"type": "memory"}}
    return deep_merge(values, spec.values)


def kiali_values(spec: Kiali, addons: Addons, istio_namespace: str) -> dict[str, Any]:
    ns = addons.namespace
    values = {
        "auth": {"strategy": spec.auth.value},
        "istio_namespace": istio_namespace,
        "deployment": {"pod_labels": {"sidecar.istio.io/inject": "false"}},
        "external_services": {
            "prometheus": {"url": prometheus_url(ns)},
            "grafana": {
                "enabled": addons.grafana is not None,
                "internal_url": f"http://grafana.{ns}:{GRAFANA_PORT}",
            },
            "tracing": {
                "enabled": addons.jaeger is not None,
                "provider": "jaeger",
                "internal_url": f"http://jaeger-query.{ns}:{JAEGER_QUERY_PORT}",
                "use_grpc": False,
            },
        },
    }
    return deep_merge(values, spec.values)


def addon_releases(
    addons: Addons, istio_namespace: str, slos: Sequence[ServiceLevelObjective] = ()
) -> list[HelmRelease]:
    """The add-ons a stack enables, each after the add-ons it reads from; Prometheus
    evaluates the stack's SLO rules (``slos``)."""
    ns = addons.namespace
    planned: list[tuple[str, AddonChart, dict[str, Any]]] = []
    if addons.prometheus is not None:
        planned.append(
            ("prometheus", addons.prometheus.chart, prometheus_values(addons.prometheus, slos))
        )
    if addons.jaeger is not None:
        planned.append(("jaeger", addons.jaeger.chart, jaeger_values(addons.jaeger)))
    if addons.grafana is not None:
        planned.append(("grafana", addons.grafana.chart, grafana_values(addons.grafana, ns)))
    if addons.kiali is not None:
        planned.append(
            ("kiali", addons.kiali.chart, kiali_values(addons.kiali, addons, istio_namespace))
        )
    reads = {"grafana": ("prometheus",), "kiali": ("prometheus", "jaeger", "grafana")}
    enabled = {name for name, _, _ in planned}
    return [
        HelmRelease(
            name=name,
            chart=_ref(chart),
            namespace=ns,
            values=values,
            after=tuple(dep for dep in reads.get(name, ()) if dep in enabled),
            role=name,
        )
        for name, chart, values in planned
    ]
