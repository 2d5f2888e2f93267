"""Typed, validated Pulumi config overrides for the values teams tune per stack.

Stacks are code, but some values change often and are better set with
``pulumi config set``: a canary's weight, image tags, replica counts. Config
keys (namespace ``meshstack``):

* ``canaryWeights``: ``{service: percent}``: percent of traffic to the candidate
* ``imageTags``: ``{workload or workload/version: tag}``
* ``replicas``: ``{workload: count}``
* ``istioCharts``: where the Istio charts come from, e.g. ``{kind: local, path: ...,
  layout: istio-source}`` or ``{kind: oci, url: oci://...}`` (air-gapped mirrors)
* ``validationFailurePolicy``: ``Fail`` or ``Ignore``, the install's webhook failure
  policy for this environment (``Ignore`` for an API server where istiod never runs,
  such as the end-to-end tests')
* ``addonsSource``: where the add-ons come from: ``{kind: charts}`` (their charts, the
  default) or ``{kind: istio-samples, path: .../samples/addons}`` (offline machines)
* ``gatewayApiCrds``: where the Gateway API's CRDs come from when a gateway uses that
  API: ``{kind: release}`` (the project's release manifest, the default; ``url`` for a
  mirror) or ``{kind: local, path: .../config/crd/standard}`` (offline machines)

Unknown keys and bad values are reported like spec problems, with the config
key as path, before anything is registered.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from meshstack.spec.addons import AddonSource
from meshstack.spec.base import Spec
from meshstack.spec.gateway_api import GatewayApiSource
from meshstack.spec.install import ChartSource, ValidationFailurePolicy
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.workloads import App, Version, Workload
from meshstack.stack_config import CONFIG_NAMESPACE, SETTING_KEYS
from meshstack.validation.problems import Problem

_IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
OVERRIDE_KEYS = (
    "canaryWeights",
    "imageTags",
    "replicas",
    "istioCharts",
    "addonsSource",
    "gatewayApiCrds",
    "validationFailurePolicy",
)
KNOWN_KEYS = OVERRIDE_KEYS + SETTING_KEYS


def _int_in(value: Any, low: int, high: int | None) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and float(value).is_integer()
        and value >= low
        and (high is None or value <= high)
    )


def with_tag(image: str, tag: str) -> str:
    """``repo/name:old`` → ``repo/name:tag`` (a registry port is not mistaken for a tag)."""
    base, colon, old = image.rpartition(":")
    if colon and "/" not in old:
        return f"{base}:{tag}"
    return f"{image}:{tag}"


def apply_overrides(spec: MeshSpec, config: Mapping[str, Any]) -> tuple[MeshSpec, list[Problem]]:
    """``spec`` with the config values applied, and the problems found in ``config``.

    ``config`` holds the keys without the ``meshstack:`` prefix.
    """
    problems: list[Problem] = []
    for key in config:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            hint = f"did you mean {CONFIG_NAMESPACE}:{close[0]}? " if close else ""
            problems.append(
                Problem(
                    f"{CONFIG_NAMESPACE}:{key}",
                    f"unknown config key; {hint}known: {', '.join(KNOWN_KEYS)}",
                )
            )
    weights = _mapping(config, "canaryWeights", problems)
    tags = _mapping(config, "imageTags", problems)
    replicas = _mapping(config, "replicas", problems)

    canaries = list(spec.policy.canaries)
    by_service = {c.service: i for i, c in enumerate(canaries)}
    for service, weight in weights.items():
        path = f"{CONFIG_NAMESPACE}:canaryWeights.{service}"
        if service not in by_service:
            problems.append(
                Problem(path, f"no canary for {service!r}; canaries: {sorted(by_service)}")
            )
        elif not _int_in(weight, 0, 100):
            problems.append(
                Problem(path, f"{weight!r} is not an integer percentage between 0 and 100")
            )
        else:
            i = by_service[service]
            canaries[i] = canaries[i].model_copy(update={"weight": int(weight)})

    versions = {w.name: [v.name for v in w.versions] for app in spec.apps for w in app.workloads}
    workload_names = set(versions)
    on_machines = {w.name for app in spec.apps for w in app.workloads if w.virtual_machines}
    for target, tag in tags.items():
        path = f"{CONFIG_NAMESPACE}:imageTags.{target}"
        workload, slash, version = target.partition("/")
        if workload not in workload_names:
            problems.append(Problem(path, f"no workload {workload!r}"))
        elif workload in on_machines:
            problems.append(
                Problem(path, f"{workload!r} runs on virtual machines: it has no image to tag")
            )
        elif slash and version not in versions[workload]:
            problems.append(
                Problem(
                    path,
                    f"{workload!r} has no version {version!r}; versions: "
                    + ", ".join(versions[workload]),
                )
            )
        elif not isinstance(tag, str) or not _IMAGE_TAG.match(tag):
            problems.append(
                Problem(
                    path,
                    f"{tag!r} is not an image tag: up to 128 letters, digits, '_', '.' and '-', "
                    "not starting with '.' or '-' (e.g. 'v1.2.3')",
                )
            )
    for target, count in replicas.items():
        path = f"{CONFIG_NAMESPACE}:replicas.{target}"
        if target not in workload_names:
            problems.append(Problem(path, f"no workload {target!r}"))
        elif target in on_machines:
            problems.append(
                Problem(path, f"{target!r} runs on virtual machines: they are not replicas")
            )
        elif not _int_in(count, 0, None):
            problems.append(Problem(path, f"{count!r} is not a replica count (an integer ≥ 0)"))
    install = spec.install
    if "istioCharts" in config:
        if install is None:
            problems.append(
                Problem(f"{CONFIG_NAMESPACE}:istioCharts", "this stack's spec installs no Istio")
            )
        else:
            chart_source = _source_config(
                _ChartSourceConfig, config, "istioCharts", "repository, oci, local", problems
            )
            if chart_source is not None:
                install = install.model_copy(update={"chart_source": chart_source.source})
    if "validationFailurePolicy" in config:
        path = f"{CONFIG_NAMESPACE}:validationFailurePolicy"
        allowed = [p.value for p in ValidationFailurePolicy]
        policy = config["validationFailurePolicy"]
        if install is None:
            problems.append(Problem(path, "this stack's spec installs no Istio"))
        elif policy not in allowed:
            problems.append(Problem(path, f"{policy!r} is not a failure policy; one of {allowed}"))
        else:
            policy_value = ValidationFailurePolicy(policy)
            install = install.model_copy(update={"validation_failure_policy": policy_value})
    addons = spec.addons
    if "addonsSource" in config:
        addon_source = _source_config(
            _AddonSourceConfig, config, "addonsSource", "charts, istio-samples", problems
        )
        if addon_source is not None:
            addons = addons.model_copy(update={"source": addon_source.source})
    gateway_api = spec.gateway_api
    if "gatewayApiCrds" in config:
        crd_source = _source_config(
            _GatewayApiSourceConfig, config, "gatewayApiCrds", "release, local", problems
        )
        if crd_source is not None:
            gateway_api = gateway_api.model_copy(update={"source": crd_source.source})
    if problems:
        return spec, problems

    apps = tuple(_retune(app, tags, replicas) for app in spec.apps)
    policy = spec.policy.model_copy(update={"canaries": tuple(canaries)})
    update = {
        "apps": apps,
        "policy": policy,
        "install": install,
        "addons": addons,
        "gateway_api": gateway_api,
    }
    return spec.model_copy(update=update), []


class _ChartSourceConfig(Spec):
    """Validates the ``istioCharts`` value (``loc`` is ``source``, the kind, then the field)."""

    source: ChartSource


class _AddonSourceConfig(Spec):
    """Validates the ``addonsSource`` value, like :class:`_ChartSourceConfig`."""

    source: AddonSource


class _GatewayApiSourceConfig(Spec):
    """Validates the ``gatewayApiCrds`` value, like :class:`_ChartSourceConfig`."""

    source: GatewayApiSource


SourceConfig = TypeVar("SourceConfig", bound=Spec)


def _source_config(
    model: type[SourceConfig],
    config: Mapping[str, Any],
    key: str,
    kinds: str,
    problems: list[Problem],
) -> SourceConfig | None:
    """``config[key]`` parsed by ``model``, or ``None`` with its problems appended."""
    path = f"{CONFIG_NAMESPACE}:{key}"
    try:
        return model.model_validate({"source": config[key]})
    except ValidationError as error:
        for detail in error.errors():
            where = ".".join([path, *(str(part) for part in detail["loc"][2:])])
            problems.append(Problem(where, f"{detail['msg']} (kinds: {kinds})"))
        return None


def _mapping(config: Mapping[str, Any], key: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = config.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(Problem(f"{CONFIG_NAMESPACE}:{key}", f"should be a mapping, got {value!r}"))
        return {}
    return value


def _retune(app: App, tags: Mapping[str, str], replicas: Mapping[str, Any]) -> App:
    def version(workload: Workload, v: Version) -> Version:
        tag = tags.get(f"{workload.name}/{v.name}", tags.get(workload.name))
        return v.model_copy(update={"image": with_tag(v.image, tag)}) if tag and v.image else v

    workloads = tuple(
        w.model_copy(
            update={
                "versions": tuple(version(w, v) for v in w.versions),
                "replicas": int(replicas.get(w.name, w.replicas)),
            }
        )
        for w in app.workloads
    )
    return app.model_copy(update={"workloads": workloads})
