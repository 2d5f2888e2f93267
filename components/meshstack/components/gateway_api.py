"""The component that installs the Kubernetes Gateway API's CRDs for a stack that uses them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from meshstack.chart_files import gateway_api_crd_files, on_disk
from meshstack.spec.gateway_api import GatewayApiCrds


@dataclass(frozen=True)
class GatewayApiArgs:
    """``base_dir``: where a relative local CRD directory starts (the project directory)."""

    crds: GatewayApiCrds
    provider: pulumi.ProviderResource | None = None
    base_dir: Path | None = None


class GatewayApi(pulumi.ComponentResource):
    """The Gateway API's standard channel (CRDs and the release's own admission policy) as
    its release manifest or local files declare them, unchanged. Gateways and routes depend
    on this component, so the first ``up`` never sends a route before its CRD exists."""

    manifests: pulumi.Resource

    def __init__(
        self, name: str, args: GatewayApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshstack:index:GatewayApi", name, None, opts)
        child = pulumi.ResourceOptions(
            parent=self, providers=[args.provider] if args.provider is not None else None
        )
        url = args.crds.manifest_url()
        if url is not None:
            self.manifests = k8s.yaml.v2.ConfigFile(f"{name}-release", file=url, opts=child)
        else:
            files = gateway_api_crd_files(on_disk(_local_path(args.crds), args.base_dir))
            self.manifests = k8s.yaml.v2.ConfigGroup(
                f"{name}-crds", files=[str(f) for f in files], opts=child
            )
        self.register_outputs({"version": args.crds.version})


def _local_path(crds: GatewayApiCrds) -> str:
    path = getattr(crds.source, "path", None)
    assert isinstance(path, str)  # manifest_url() is None only for a local source
    return path
