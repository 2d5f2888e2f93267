"""One component for a whole stack: namespaces, Istio, workloads, policy, add-ons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from meshstack.chart_files import source_file_problems
from meshstack.components.addons import ObservabilityAddons, ObservabilityAddonsArgs
from meshstack.components.gateway_api import GatewayApiCrdInstall, install_gateway_api_crds
from meshstack.components.install import IstioInstallation, IstioInstallationArgs
from meshstack.components.namespaces import MeshNamespaces, MeshNamespacesArgs
from meshstack.components.policy import MeshPolicyObjects, MeshPolicyObjectsArgs
from meshstack.components.workloads import MeshWorkloads, MeshWorkloadsArgs
from meshstack.k8s import without_waiting
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import SpecInvalid, check


@dataclass(frozen=True)
class MeshStackArgs:
    spec: MeshSpec
    crds: Sequence[pulumi.Resource] = ()
    """Resources that install Istio's CRDs when the spec has no ``install`` (Istio is
    installed elsewhere); with an ``install`` its base chart is added automatically."""
    protect_namespaces: bool = False
    provider: pulumi.ProviderResource | None = None
    base_dir: Path | None = None
    """Where relative local chart and manifest paths start (the Pulumi project directory)."""
    grafana_admin_password: pulumi.Input[str] | None = None
    """Grafana's admin password from a secret the caller holds (a ``pulumi config set
    --secret`` value); without it one is generated with ``pulumi_random``."""
    ca_files: pulumi.Input[Mapping[str, str]] | None = None
    """The plug-in CA's ``cacerts`` files for this cluster (a multi-cluster mesh's shared
    root; :class:`~meshstack.components.install.IstioInstallationArgs`)."""
    skip_await: bool = False
    """Do not wait on the cluster's controllers: every Kubernetes object below the stack,
    charts' included, gets ``pulumi.com/skipAwait`` (no wait for readiness) and
    ``pulumi.com/deletionPropagationPolicy: background`` (a delete does not wait for the
    garbage collector to remove dependents first). For an API server without nodes or
    controllers (the end-to-end tests), or when another tool watches rollouts."""


class MeshStack(pulumi.ComponentResource):
    """Validates the whole spec once, then creates, in dependency order:
    ``<name>-namespaces`` → ``<name>-istio`` (base → istiod → gateways) and
    ``<name>-gateway-api`` (its CRDs, when a gateway uses that API and no CRD layer stack
    holds them) →
    ``<name>-workloads`` (Deployments wait for istiod's injector) →
    ``<name>-policy`` (waits for the CRDs) and ``<name>-addons``."""

    namespaces: MeshNamespaces
    install: IstioInstallation | None
    gateway_api: GatewayApiCrdInstall | None
    """The Gateway API's CRDs, when a gateway uses that API and the spec installs them."""
    workloads: MeshWorkloads
    policy: MeshPolicyObjects
    addons: ObservabilityAddons | None

    def __init__(
        self, name: str, args: MeshStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = check(args.spec)
        problems = source_file_problems(spec, args.base_dir)
        if problems:
            raise SpecInvalid(spec.stack, problems)
        if args.skip_await:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(transforms=[skip_await])
            )
        super().__init__("meshstack:index:MeshStack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespaces = MeshNamespaces(
            f"{name}-namespaces",
            MeshNamespacesArgs(spec, args.protect_namespaces, args.provider),
            child,
        )
        self.install = None
        crds = list(args.crds)
        injectors: list[pulumi.Resource] = []
        if spec.install is not None:
            self.install = IstioInstallation(
                f"{name}-istio",
                IstioInstallationArgs(
                    spec.install,
                    self.namespaces.by_name,
                    args.provider,
                    args.base_dir,
                    trust=spec.trust,
                    ca_files=args.ca_files,
                ),
                child,
            )
            crds.extend(self.install.crds)
            injectors.extend(self.install.injectors)
        # The Gateway API's CRDs are here unless a CRD layer stack holds them.
        self.gateway_api = (
            install_gateway_api_crds(
                f"{name}-gateway-api", spec, args.provider, args.base_dir, parent=self
            )
            if spec.install is None or spec.install.crd_stack is None
            else None
        )
        if self.gateway_api is not None:
            crds.append(self.gateway_api)
        self.workloads = MeshWorkloads(
            f"{name}-workloads",
            MeshWorkloadsArgs(
                spec,
                provider=args.provider,
                namespaces=self.namespaces.by_name,
                injectors=injectors,
                crds=crds,
            ),
            child,
        )
        self.policy = MeshPolicyObjects(
            f"{name}-policy",
            MeshPolicyObjectsArgs(spec, crds, self.namespaces.by_name, args.provider),
            child,
        )
        self.addons = None
        if spec.addons.enabled:
            istio_namespace = spec.install.namespace if spec.install else spec.root_namespace
            waits_for: list[pulumi.Resource] = [*injectors]
            if self.install is not None:
                waits_for.append(self.install.namespace)
            self.addons = ObservabilityAddons(
                f"{name}-addons",
                ObservabilityAddonsArgs(
                    spec.addons,
                    istio_namespace,
                    waits_for,
                    args.provider,
                    grafana_admin_password=args.grafana_admin_password,
                    base_dir=args.base_dir,
                    slos=spec.policy.addon_slos,
                ),
                child,
            )
        self.register_outputs(
            {
                "namespaces": sorted(self.namespaces.by_name),
                "stack": spec.stack,
                "istio_version": spec.install.version if spec.install else None,
                "addons": list(spec.addons.enabled),
            }
        )


def skip_await(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Annotate every Kubernetes object below the stack so the provider waits on no
    controller; components and other packages' resources pass unchanged."""
    if not (args.custom and args.type_.startswith("kubernetes:")):
        return None
    props = dict(args.props)
    props["metadata"] = pulumi.Output.from_input(props.get("metadata") or {}).apply(without_waiting)
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)
