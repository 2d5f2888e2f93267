"""The guardrails meshstack ships, by the names policy output and config use."""

from __future__ import annotations

from meshstack.guardrails.ambient import request_rules_on_a_waypoint
from meshstack.guardrails.authorization import no_allow_all
from meshstack.guardrails.egress import controlled_egress_in_production
from meshstack.guardrails.images import no_floating_images
from meshstack.guardrails.model import ResourceGuardrail, StackGuardrail
from meshstack.guardrails.mtls import mesh_wide_strict_mtls_in_production, strict_mtls_in_production
from meshstack.guardrails.production import (
    awaited_in_production,
    fail_closed_validation_in_production,
    no_fault_injection_in_production,
)
from meshstack.guardrails.protection import protected_istio_crds
from meshstack.guardrails.routes import weights_sum_to_100

RESOURCE_GUARDRAILS: tuple[ResourceGuardrail, ...] = (
    ResourceGuardrail(
        "strict-mtls-in-production",
        "Production stacks accept and send mTLS only: no PERMISSIVE or DISABLE "
        "PeerAuthentication, no DestinationRule disabling TLS to an in-mesh host.",
        strict_mtls_in_production,
        configurable=True,
    ),
    ResourceGuardrail(
        "no-floating-images",
        "Every container image names a version tag or a digest (no :latest, no missing tag).",
        no_floating_images,
    ),
    ResourceGuardrail(
        "route-weights-sum-to-100",
        "Each VirtualService route splits traffic with weights that sum to 100.",
        weights_sum_to_100,
    ),
    ResourceGuardrail(
        "no-allow-all-authorization",
        "ALLOW AuthorizationPolicies name their callers or operations; no rule matches everyone.",
        no_allow_all,
    ),
    ResourceGuardrail(
        "protected-istio-crds",
        "In production, Istio's CRDs (the base chart, or CRDs registered directly) are protected.",
        protected_istio_crds,
        configurable=True,
    ),
    ResourceGuardrail(
        "no-fault-injection-in-production",
        "Production VirtualServices inject no delays or aborts into real traffic.",
        no_fault_injection_in_production,
    ),
    ResourceGuardrail(
        "fail-closed-validation-in-production",
        "In production, Istio's validating webhook fails closed (validationFailurePolicy Fail).",
        fail_closed_validation_in_production,
    ),
)

STACK_GUARDRAILS: tuple[StackGuardrail, ...] = (
    StackGuardrail(
        "mesh-wide-strict-mtls-in-production",
        "A production stack declares a mesh-wide STRICT PeerAuthentication in Istio's root namespace.",
        mesh_wide_strict_mtls_in_production,
        configurable=True,
    ),
    StackGuardrail(
        "request-rules-on-a-waypoint",
        "In an ambient namespace, authorization rules on requests (paths, methods, hosts, "
        "token principals) and RequestAuthentications attach to a waypoint, not ztunnel.",
        request_rules_on_a_waypoint,
    ),
    StackGuardrail(
        "controlled-egress-in-production",
        "In production, every external host (a MESH_EXTERNAL ServiceEntry) is reached through "
        "an egress gateway: some VirtualService sends the sidecars' traffic for it elsewhere.",
        controlled_egress_in_production,
        configurable=True,
    ),
    StackGuardrail(
        "awaited-in-production",
        "A production up waits for every object to become ready (no pulumi.com/skipAwait).",
        awaited_in_production,
    ),
)
