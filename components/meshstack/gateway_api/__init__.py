"""The Kubernetes Gateway API as meshstack speaks it (the CRDs' release and installer are
``spec.gateway_api`` and ``components.gateway_api``):

* ``translation`` — a VirtualService bound to Gateway API gateways as an HTTPRoute, and
  every setting HTTPRoute cannot carry (validation reports those; one pass, so the renderer
  never emits a route validation did not see);
* ``objects`` — the Gateway, redirect, ReferenceGrant and waypoint objects rendered.
"""
