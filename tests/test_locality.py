"""Locality load balancing in a DestinationPolicy: rendered as Istio's
``loadBalancer.localityLbSetting``, and refused where Istio refuses it — or where Istio keeps
it but never acts on it (failover without outlier detection). ``test_istioctl_agreement``
hands every example here to Istio's analyzer too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from builders import shop
from meshstack.render import render
from meshstack.spec import (
    DestinationPolicy,
    LocalityDistribution,
    LocalityFailover,
    LocalityLoadBalancing,
    MeshSpec,
    OutlierDetection,
    Subset,
)
from meshstack.validation import validate

SUBSETS = (Subset(name="v1", version="v1"), Subset(name="v2", version="v2"))


EJECTING = OutlierDetection()


def api_policy(
    locality: LocalityLoadBalancing, outlier: OutlierDetection | None = EJECTING
) -> MeshSpec:
    return shop(
        destination_policies=(
            DestinationPolicy(
                service="api",
                namespace="shop",
                subsets=SUBSETS,
                outlier_detection=outlier,
                locality=locality,
            ),
        )
    )


FAILOVER = LocalityLoadBalancing(
    failover=(LocalityFailover(from_region="eu-west", to_region="eu-central"),)
)
DISTRIBUTE = LocalityLoadBalancing(
    distribute=(
        LocalityDistribution(
            from_locality="eu-west/zone-a/*", to={"eu-west/zone-a": 80, "eu-west/zone-b": 20}
        ),
        LocalityDistribution(from_locality="eu-central/*", to={"eu-central": 100}),
    )
)
WHERE = "policy.destination_policies[0]"

EXAMPLES: dict[str, tuple[Callable[[], MeshSpec], str, str]] = {
    "locality failover without outlier detection": (
        lambda: api_policy(FAILOVER, outlier=None),
        f"{WHERE}.outlier_detection",
        "set outlier_detection=OutlierDetection()",
    ),
    "locality distribute and failover together": (
        lambda: api_policy(DISTRIBUTE.model_copy(update={"failover": FAILOVER.failover})),
        f"{WHERE}.locality",
        "not both",
    ),
    "locality shares not summing to 100": (
        lambda: api_policy(
            LocalityLoadBalancing(
                distribute=(LocalityDistribution(from_locality="eu-west", to={"eu-west": 90}),)
            )
        ),
        f"{WHERE}.locality.distribute[0].to",
        "sum to 90",
    ),
    "locality failover within one region": (
        lambda: api_policy(
            LocalityLoadBalancing(
                failover=(LocalityFailover(from_region="eu-west", to_region="eu-west"),)
            )
        ),
        f"{WHERE}.locality.failover[0]",
        "to itself",
    ),
    "locality failover to a zone": (
        lambda: api_policy(
            LocalityLoadBalancing(
                failover=(LocalityFailover(from_region="eu-west", to_region="eu-central/zone-a"),)
            )
        ),
        f"{WHERE}.locality.failover[0].to_region",
        "a bare region name",
    ),
    "locality wildcard in the middle": (
        lambda: api_policy(
            LocalityLoadBalancing(
                distribute=(
                    LocalityDistribution(from_locality="eu-west/*/rack-1", to={"eu-west": 100}),
                )
            )
        ),
        f"{WHERE}.locality.distribute[0].from_locality",
        "'*' only as the last part",
    ),
    "locality named twice": (
        lambda: api_policy(
            LocalityLoadBalancing(
                distribute=(
                    LocalityDistribution(
                        from_locality="eu-west", to={"eu-west": 50, "eu-west/zone-a": 50}
                    ),
                )
            )
        ),
        f"{WHERE}.locality.distribute[0].to[eu-west/zone-a]",
        "overlaps 'eu-west'",
    ),
    "failover beside a topology priority": (
        lambda: api_policy(
            FAILOVER.model_copy(update={"failover_priority": ("topology.kubernetes.io/zone",)})
        ),
        f"{WHERE}.locality.failover_priority",
        "is a locality label",
    ),
}


@pytest.mark.parametrize("case", sorted(EXAMPLES))
def test_a_locality_setting_istio_would_not_follow_is_refused(case: str) -> None:
    build, path, message = EXAMPLES[case]
    problems = validate(build())
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def _rendered_lb(spec: MeshSpec) -> object:
    [rule] = [o for o in render(spec) if o["kind"] == "DestinationRule"]
    return rule["spec"]["trafficPolicy"]["loadBalancer"]


def test_failover_and_distribution_render_as_istios_locality_setting() -> None:
    assert validate(api_policy(FAILOVER)) == []
    assert _rendered_lb(api_policy(FAILOVER)) == {
        "localityLbSetting": {
            "enabled": True,
            "failover": [{"from": "eu-west", "to": "eu-central"}],
        }
    }
    assert validate(api_policy(DISTRIBUTE, outlier=None)) == []
    assert _rendered_lb(api_policy(DISTRIBUTE)) == {
        "localityLbSetting": {
            "enabled": True,
            "distribute": [
                {"from": "eu-west/zone-a/*", "to": {"eu-west/zone-a": 80, "eu-west/zone-b": 20}},
                {"from": "eu-central/*", "to": {"eu-central": 100}},
            ],
        }
    }
    by_network = LocalityLoadBalancing(failover_priority=("topology.istio.io/network",))
    assert validate(api_policy(by_network)) == []
    assert _rendered_lb(api_policy(by_network)) == {
        "localityLbSetting": {"enabled": True, "failoverPriority": ["topology.istio.io/network"]}
    }
