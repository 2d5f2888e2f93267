"""The component that installs Istio from its Helm charts, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from meshstack.chart_files import local_chart_problems
from meshstack.components.helm import register_release
from meshstack.components.registry import register_object
from meshstack.multicluster import cacerts_object
from meshstack.render.install import install_namespace_object, istio_releases
from meshstack.spec.install import IstioInstall
from meshstack.spec.trust import DEFAULT_TRUST, TrustDomain
from meshstack.validation.fields import field_problems
from meshstack.validation.install_rules import install_only_problems
from meshstack.validation.problems import SpecInvalid


@dataclass(frozen=True)
class IstioInstallationArgs:
    """``namespaces`` maps names to the resources that create them: gateways wait for
    theirs (created with injection enabled, which ``image: auto`` needs). The install's
    own namespace is created here. ``base_dir`` resolves a relative local chart path."""

    install: IstioInstall
    namespaces: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    provider: pulumi.ProviderResource | None = None
    base_dir: Path | None = None
    trust: TrustDomain = DEFAULT_TRUST
    """The mesh's trust domain (``MeshSpec.trust``), which istiod issues identities in."""
    ca_files: pulumi.Input[Mapping[str, str]] | None = None
    """The plug-in CA's files (``meshstack.multicluster.CACERTS_KEYS``, PEM text, usually
    config secrets): a ``cacerts`` Secret istiod signs identities with instead of its own
    self-signed root, created before istiod (which reads it once, at start)."""


class IstioInstallation(pulumi.ComponentResource):
    """base → (cni) → istiod per revision → gateways, each a helm v4 Chart.

    ``crds`` (the base chart) is what every Istio custom resource must depend on;
    ``injectors`` (the istiod releases) is what pods needing a sidecar wait for.
    With ``install.protect`` the CRDs and the install namespace cannot be deleted.
    """

    namespace: pulumi.CustomResource
    releases: dict[str, k8s.helm.v4.Chart]
    crds: list[pulumi.Resource]
    injectors: list[pulumi.Resource]

    def __init__(
        self, name: str, args: IstioInstallationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        install = args.install
        problems = [
            *field_problems(install, "install"),
            *install_only_problems(install),
            *local_chart_problems(install, args.base_dir),
        ]
        if problems:
            raise SpecInvalid(name, sorted(set(problems)))
        super().__init__("meshstack:index:IstioInstallation", name, None, opts)
        # A plain registration (components/registry.py), as every other object: the
        # generated Namespace class would import all of core/v1 (half a second per run).
        self.namespace = register_object(
            name,
            install_namespace_object(install),
            parent=self,
            protect=install.protect,
            provider=args.provider,
        )
        namespaces = {**args.namespaces, install.namespace: self.namespace}
        self.cacerts: pulumi.CustomResource | None = None
        if args.ca_files is not None:
            self.cacerts = register_object(
                name,
                cacerts_object(install.namespace, args.ca_files),
                parent=self,
                depends_on=[self.namespace],
                provider=args.provider,
                secret_outputs=("data", "stringData"),
            )
        self.releases = {}
        plan = istio_releases(install, args.trust)
        for release in plan:
            waits_for: list[pulumi.Resource] = [self.releases[b] for b in release.after]
            if release.role == "istiod" and self.cacerts is not None:
                waits_for.append(self.cacerts)
            own_namespace = namespaces.get(release.namespace)
            if own_namespace is not None:
                waits_for.append(own_namespace)
            self.releases[release.name] = register_release(
                name,
                release,
                parent=self,
                depends_on=waits_for,
                provider=args.provider,
                # The base chart holds Istio's CRDs.
                crd_descriptions=install.crd_descriptions or release.role != "base",
            )
        self.crds = [self.releases[r.name] for r in plan if r.role == "base"]
        self.injectors = [self.releases[r.name] for r in plan if r.role == "istiod"]
        self.register_outputs(
            {
                "version": install.version,
                "revisions": [cp.name for cp in install.control_planes],
                "releases": list(self.releases),
            }
        )
