"""Where the Kubernetes Gateway API's CRDs come from, for stacks whose gateways use it.

Kubernetes does not ship the Gateway API: its CRDs (GatewayClass, Gateway, HTTPRoute,
ReferenceGrant...) are installed per cluster, and Istio's charts do not carry them. A
stack with a ``GatewayApi.KUBERNETES`` gateway installs them before any Gateway or route,
from the project's release (the default) or from a local directory of CRD files.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from meshstack.spec.base import FieldCheck, NonEmptyStr, Spec

GATEWAY_API_VERSION = "1.7.0"
"""The Gateway API release installed by default (standard channel)."""

GATEWAY_API_RELEASES = "https://github.com/kubernetes-sigs/gateway-api/releases/download"
"""Where the Gateway API project publishes each release's install manifests."""


_RELEASE = re.compile(r"^\d+\.\d+\.\d+(-rc\.\d+)?$")

GatewayApiVersion = Annotated[
    str,
    FieldCheck(
        "a Gateway API release such as '1.7.0' (major.minor.patch, without the tag's 'v')",
        lambda v: bool(_RELEASE.match(v)),
    ),
]
"""A release as the project numbers it; its download is tagged ``v<version>``, so a
written ``v1.7.0`` would fetch ``vv1.7.0``, which does not exist."""


class GatewayApiRelease(Spec):
    """The project's published ``standard-install.yaml`` of ``version`` (the default)."""

    kind: Literal["release"] = "release"
    url: NonEmptyStr | None = None
    """A mirror of the manifest; ``None``: the project's own release download."""

    def manifest_url(self, version: str) -> str:
        """The manifest to apply for release ``version``."""
        return self.url or f"{GATEWAY_API_RELEASES}/v{version}/standard-install.yaml"


class GatewayApiCrdFiles(Spec):
    """A local directory of the standard channel's YAML files: ``config/crd/standard`` of
    the ``sigs.k8s.io/gateway-api`` Go module at the release's tag (offline machines)."""

    kind: Literal["local"] = "local"
    path: NonEmptyStr


GatewayApiSource = Annotated[GatewayApiRelease | GatewayApiCrdFiles, Field(discriminator="kind")]


class GatewayApiCrds(Spec):
    """How the Gateway API's CRDs reach the cluster when a gateway uses that API."""

    version: GatewayApiVersion = GATEWAY_API_VERSION
    source: GatewayApiSource = Field(default_factory=GatewayApiRelease)
    install: bool = True
    """``False`` when the cluster already has them (a managed cluster's own install)."""
