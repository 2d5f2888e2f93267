"""A prod program the guardrails must stop, though meshstack's typed validation accepts it.

Each loosening is one a pull request could plausibly make: mesh-wide mTLS
relaxed to PERMISSIVE "while we debug", the CRD protection switched off to
allow a reinstall, an image tag override set to ``latest``, an "allow all"
policy acknowledged with ``match_all``, an external API reached straight from the
sidecars rather than through the egress gateway, a traffic split written by hand
beside the components (where typed validation never sees it), a new ambient
namespace whose path rule was copied from a sidecar namespace (ztunnel would enforce it),
a fault drill left on a canary, ``skipAwait`` to make an up faster, and the webhook set
to fail open "until istiod is healthy again".
"""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.overrides import OVERRIDE_KEYS, apply_overrides
from meshstack.spec import (
    AbortFault,
    AuthorizationPolicy,
    AuthorizationRule,
    ExternalService,
    FaultInjection,
    MtlsMode,
    Protocol,
    ServicePort,
)
from meshstack.spec.install import ValidationFailurePolicy
from meshstack.stack_config import CONFIG_NAMESPACE, config_value
from meshstack.stacks import load_spec
from meshstack.validation import SpecInvalid

HERE = Path(__file__).resolve().parent
# Run from tests/programs (mock engine) or as the __main__.py of a staged project (real CLI).
PROJECT = HERE if (HERE / "stacks").is_dir() else HERE.parents[1]
RATINGS = "ratings.bookinfo.svc.cluster.local"

# The stack's config as __main__.py reads it (offline chart sources, render mode), plus
# the floating tag.
config = pulumi.Config(CONFIG_NAMESPACE)
overrides = {
    key: value for key in OVERRIDE_KEYS if (value := config_value(config.get(key))) is not None
}
overrides["imageTags"] = {**(overrides.get("imageTags") or {}), "productpage": "latest"}
prod = load_spec("prod", PROJECT / "stacks")
prod, problems = apply_overrides(prod, overrides)
if problems:
    raise SpecInvalid("prod", problems)
render_dir = config.get("renderDir") or ""
provider = k8s.Provider("render", render_yaml_to_directory=render_dir) if render_dir else None
policy = prod.policy
mesh_wide, *scoped = policy.peer_authentications
loosened = prod.model_copy(
    update={
        "install": prod.install.model_copy(
            update={"protect": False, "validation_failure_policy": ValidationFailurePolicy.IGNORE}
        )
        if prod.install
        else None,
        "policy": policy.model_copy(
            update={
                "canaries": (
                    policy.canaries[0].model_copy(
                        update={
                            "fault": FaultInjection(abort=AbortFault(http_status=503, percentage=1))
                        }
                    ),
                    *policy.canaries[1:],
                ),
                "peer_authentications": (
                    mesh_wide.model_copy(update={"mode": MtlsMode.PERMISSIVE}),
                    *scoped,
                ),
                "external_services": (
                    *policy.external_services,
                    ExternalService(
                        name="analytics-api",
                        namespace="hipster-shop",
                        hosts=("analytics.meshstack.test",),
                        ports=(ServicePort(number=443, protocol=Protocol.TLS),),
                    ),
                ),
                "authorization_policies": (
                    *policy.authorization_policies,
                    AuthorizationPolicy(
                        name="debug-open-details",
                        namespace="bookinfo",
                        workload="details",
                        rules=(AuthorizationRule(match_all=True),),
                    ),
                ),
            }
        ),
    }
)

MeshStack(
    "mesh",
    MeshStackArgs(
        spec=loosened,
        protect_namespaces=True,
        provider=provider,
        base_dir=PROJECT,
        grafana_admin_password=config.get_secret("grafanaAdminPassword"),
        skip_await=True,
    ),
)
k8s.apiextensions.CustomResource(
    "hand-written-ratings-split",
    api_version="networking.istio.io/v1",
    kind="VirtualService",
    metadata={"name": "ratings-split", "namespace": "bookinfo"},
    spec={
        "hosts": [RATINGS],
        "http": [
            {
                "name": "split",
                "route": [
                    {"destination": {"host": RATINGS, "subset": "v1"}, "weight": 90},
                    {"destination": {"host": RATINGS, "subset": "v2"}, "weight": 20},
                ],
            }
        ],
    },
    opts=pulumi.ResourceOptions(provider=provider),
)

k8s.core.v1.Namespace(
    "hand-written-ambient-namespace",
    metadata={"name": "reports", "labels": {"istio.io/dataplane-mode": "ambient"}},
    opts=pulumi.ResourceOptions(provider=provider),
)
k8s.apiextensions.CustomResource(
    "hand-written-reports-admin",
    api_version="security.istio.io/v1",
    kind="AuthorizationPolicy",
    metadata={"name": "reports-admin", "namespace": "reports"},
    spec={
        "selector": {"matchLabels": {"app": "reports"}},
        "rules": [{"to": [{"operation": {"paths": ["/admin*"]}}]}],
    },
    opts=pulumi.ResourceOptions(provider=provider),
)
