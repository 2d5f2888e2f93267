"""multi_remote: the multi stack's Bookinfo as a primary-remote mesh on two networks.

``east`` (us-east1, ``net-east``) is the primary: its istiod serves the whole mesh, and
its east-west gateway exposes both east's services (15443) and istiod itself (15012 for
XDS and certificates, 15017 for the injection webhook) at ``DISCOVERY_ADDRESS``, the
gateway's reserved load-balancer address. ``west`` (us-west1, ``net-west``) is a remote:
it runs no istiod, only the remote profile's webhook and an ``istiod`` Service pointing at
that address; east's istiod reads west's endpoints through a remote secret. Placement,
failover and authorization are the multi stack's; the Istio configuration lives in east
alone, and only east has an intermediate CA (west's certificates are east's istiod's).
Its CRDs live in a layer of their own, ``multi_remote-crds`` (both clusters, as multi's
live in ``multi-crds``): each ``up`` of this stack then saves a state without them.
"""

from meshstack.spec import MeshSpec

from stacks.multi import EAST
from stacks.multi import spec as multi_primary

DISCOVERY_ADDRESS = "203.0.113.10"
"""The address reserved for east's east-west gateway: its chart asks the load balancer
for it (``service.loadBalancerIP``, which meshstack sets from this)."""


def spec() -> MeshSpec:
    mesh = multi_primary()
    assert mesh.multicluster is not None and mesh.install is not None
    clusters = tuple(
        c.model_copy(update={"discovery_address": DISCOVERY_ADDRESS})
        if c.name == EAST
        else c.model_copy(update={"control_plane": EAST, "ca_cert": None, "ca_key": None})
        for c in mesh.multicluster.clusters
    )
    return mesh.model_copy(
        update={
            "stack": "multi_remote",
            "multicluster": mesh.multicluster.model_copy(update={"clusters": clusters}),
            # multi-crds is multi's layer (its crdsOf says so): this stack has its own.
            "install": mesh.install.model_copy(update={"crd_stack": "multi_remote-crds"}),
        }
    )
