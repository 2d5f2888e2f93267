"""The component that installs the Kubernetes Gateway API's CRDs for a stack that uses them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import yaml

from meshstack.chart_files import gateway_api_crd_files, on_disk
from meshstack.components.helm import without_crd_descriptions
from meshstack.components.registry import register_object
from meshstack.spec.gateway_api import GatewayApiCrds, GatewayApiRelease
from meshstack.spec.mesh import MeshSpec


@dataclass(frozen=True)
class GatewayApiCrdInstallArgs:
    """``base_dir``: where a relative local CRD directory starts (the project directory).
    ``protect``: deleting a CRD deletes every Gateway and route of its kind, so stacks
    that protect Istio's CRDs protect these too."""

    crds: GatewayApiCrds
    provider: pulumi.ProviderResource | None = None
    base_dir: Path | None = None
    protect: bool = False


class GatewayApiCrdInstall(pulumi.ComponentResource):
    """The Gateway API's standard channel (CRDs and the release's own admission policy) as
    its release manifest or local files declare them, unchanged. Gateways and routes depend
    on this component, so the first ``up`` never sends a route before its CRD exists.

    Local files are registered object by object, like every object meshstack renders: the
    provider's YAML component must know whether each kind is namespaced, and for the
    release's ``ValidatingAdmissionPolicy`` provider 4.25 can only ask a cluster, so
    ``pulumi preview`` and render mode without one failed. The release manifest (a URL)
    goes through ``yaml.v2.ConfigFile``, which fetches it and asks the cluster.
    """

    manifests: list[pulumi.Resource]

    def __init__(
        self, name: str, args: GatewayApiCrdInstallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The type token stays what it was when the class had another name: resources keep their URNs.
        super().__init__("meshstack:index:GatewayApi", name, None, opts)
        child = pulumi.ResourceOptions(
            parent=self,
            providers=[args.provider] if args.provider is not None else None,
            protect=args.protect,
        )
        source = args.crds.source
        if isinstance(source, GatewayApiRelease):
            url = source.manifest_url(args.crds.version)
            self.manifests = [k8s.yaml.v2.ConfigFile(f"{name}-release", file=url, opts=child)]
        else:
            root = on_disk(source.path, args.base_dir)
            self.manifests = [
                register_object(
                    name, document, parent=self, provider=args.provider, protect=args.protect
                )
                for path in gateway_api_crd_files(root)
                for document in yaml.safe_load_all(path.read_text())
                if isinstance(document, dict) and "kind" in document
            ]
        self.register_outputs({"version": args.crds.version})


def install_gateway_api_crds(
    name: str,
    spec: MeshSpec,
    provider: pulumi.ProviderResource | None,
    base_dir: Path | None,
    parent: pulumi.Resource,
) -> GatewayApiCrdInstall | None:
    """The Gateway API's CRDs as a stack holding CRDs installs them (a mesh stack that
    keeps its own, or a CRD layer stack): only when the spec installs them, protected
    with Istio's, without their prose when Istio's CRDs go without theirs."""
    if not spec.installs_gateway_api_crds:
        return None
    install = spec.install
    keep_prose = install is None or install.crd_descriptions
    return GatewayApiCrdInstall(
        name,
        GatewayApiCrdInstallArgs(
            spec.gateway_api, provider, base_dir, protect=install is not None and install.protect
        ),
        pulumi.ResourceOptions(
            parent=parent, transforms=None if keep_prose else [without_crd_descriptions]
        ),
    )
