"""The component that installs the observability add-ons from their charts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from meshstack import yaml_text
from meshstack.chart_files import on_disk
from meshstack.components.helm import register_release
from meshstack.components.registry import register_object
from meshstack.render.addons import (
    GRAFANA_ADMIN_SECRET,
    GRAFANA_PASSWORD_KEY,
    GRAFANA_USER_KEY,
    addon_releases,
)
from meshstack.render.slo import rule_files
from meshstack.spec.addons import Addons, IstioSampleManifests
from meshstack.spec.slo import ServiceLevelObjective


@dataclass(frozen=True)
class ObservabilityAddonsArgs:
    """``depends_on``: what every add-on waits for (the Istio install and its namespace).

    ``grafana_admin_password``: a password the caller already holds as a secret (a
    ``pulumi config set --secret`` value); without it one is generated with
    ``pulumi_random``. ``base_dir``: where a relative sample-manifest path starts."""

    addons: Addons
    istio_namespace: str = "istio-system"
    depends_on: Sequence[pulumi.Resource] = ()
    provider: pulumi.ProviderResource | None = None
    grafana_admin_password: pulumi.Input[str] | None = None
    base_dir: Path | None = None
    slos: Sequence[ServiceLevelObjective] = ()
    """The stack's SLOs: their rules become rule files Prometheus loads."""


class ObservabilityAddons(pulumi.ComponentResource):
    """Prometheus, Jaeger, Grafana and Kiali, each only when the spec enables it.

    Grafana's admin password is a ``RandomPassword`` kept in a Secret the chart reads
    (``admin.existingSecret``); it reaches the engine only as a secret and is exposed
    only as the secret output ``grafana_admin_password``.
    """

    releases: dict[str, pulumi.Resource]
    """One Helm ``Chart`` per add-on, or one ``yaml.v2.ConfigFile`` per sample manifest."""
    grafana_admin_password: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ObservabilityAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshstack:index:ObservabilityAddons", name, None, opts)
        addons = args.addons
        extra: dict[str, list[pulumi.Resource]] = {}
        self.grafana_admin_password = None
        if addons.grafana is not None:
            if args.grafana_admin_password is not None:
                given = pulumi.Output.from_input(args.grafana_admin_password)
                self.grafana_admin_password = pulumi.Output.secret(given)
            else:
                random = _pulumi_random()
                password = random.RandomPassword(
                    f"{name}-grafana-admin-password",
                    length=addons.grafana.password_length,
                    special=False,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.grafana_admin_password = pulumi.Output.secret(password.result)
            secret = register_object(
                name,
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": GRAFANA_ADMIN_SECRET, "namespace": addons.namespace},
                    # Secret as a whole, as the generated Secret class sends it.
                    "stringData": pulumi.Output.secret(
                        {
                            GRAFANA_USER_KEY: "admin",
                            GRAFANA_PASSWORD_KEY: self.grafana_admin_password,
                        }
                    ),
                },
                parent=self,
                depends_on=args.depends_on,
                provider=args.provider,
                secret_outputs=("data", "stringData"),
            )
            extra["grafana"] = [secret]
        self.releases = {}
        for release in addon_releases(addons, args.istio_namespace, args.slos):
            waits_for = [
                *args.depends_on,
                *(self.releases[r] for r in release.after),
                *extra.get(release.name, []),
            ]
            if isinstance(addons.source, IstioSampleManifests):
                self.releases[release.name] = self._sample_manifest(
                    name, release.name, addons.source, args, waits_for
                )
            else:
                self.releases[release.name] = register_release(
                    name, release, parent=self, depends_on=waits_for, provider=args.provider
                )
        self.register_outputs(
            {"addons": list(self.releases), "grafana_admin_password": self.grafana_admin_password}
        )

    def _sample_manifest(
        self,
        name: str,
        addon: str,
        source: IstioSampleManifests,
        args: ObservabilityAddonsArgs,
        depends_on: Sequence[pulumi.Resource],
    ) -> pulumi.Resource:
        """``<name>-<addon>``: Istio's ``<addon>.yaml`` as it is, and a warning that says
        which typed settings it does not carry."""
        pulumi.log.warn(
            f"add-on {addon!r} comes from Istio's sample manifest {source.path}/{addon}.yaml: "
            "its typed settings and chart values are not applied (Istio's demo configuration)",
            resource=self,
        )
        rules = rule_files(args.slos) if addon == "prometheus" and args.slos else None
        return k8s.yaml.v2.ConfigFile(
            f"{name}-{addon}",
            file=str(on_disk(source.path, args.base_dir) / f"{addon}.yaml"),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(depends_on),
                providers=[args.provider] if args.provider is not None else None,
                transforms=[_with_rule_files(args.addons.namespace, rules)] if rules else None,
            ),
        )


def _with_rule_files(
    namespace: str, files: dict[str, dict[str, Any]]
) -> Callable[[pulumi.ResourceTransformArgs], pulumi.ResourceTransformResult | None]:
    """A transform writing the SLOs' rule files into the sample Prometheus's ConfigMap
    (``prometheus`` in the add-ons' namespace), whose server loads those keys."""
    texts = {key: yaml_text.dump(content) for key, content in files.items()}

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != "kubernetes:core/v1:ConfigMap":
            return None
        metadata = args.props.get("metadata")
        if not isinstance(metadata, dict) or metadata.get("name") != "prometheus":
            return None  # a manifest's own objects arrive as plain values
        if metadata.get("namespace", namespace) != namespace:
            return None
        props = dict(args.props)
        props["data"] = pulumi.Output.from_input(props.get("data") or {}).apply(
            lambda data: {**data, **texts}
        )
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    return transform


def _pulumi_random() -> Any:
    """``pulumi_random``, an optional dependency (``meshstack[random]``): only a Grafana
    whose admin password is not given needs it."""
    try:
        import pulumi_random
    except ImportError:
        raise pulumi.RunError(
            "Grafana needs an admin password: set one with `pulumi config set --secret "
            "meshstack:grafanaAdminPassword <password>`, or install meshstack[random] "
            "(pulumi-random and its provider) to have one generated"
        ) from None
    return pulumi_random
