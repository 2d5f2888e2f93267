"""The indexes every reader of one spec shares, built once per spec.

Validation, rendering, the graph, the ingress and egress judgements and the diff all ask
the same questions of a spec — which host a name is, who enforces a namespace's policy,
which policies select a callee. Each question has one answer in code (``hosts``,
``enforcement``, ``access.authorization``); this module makes sure each is also computed
once per spec, however many readers ask: ``model_of(spec)`` returns the same
:class:`MeshModel` for the same spec object for as long as the spec lives.
"""

from __future__ import annotations

import weakref
from functools import cached_property

from meshstack.access.authorization import Evaluator
from meshstack.enforcement import Placement
from meshstack.hosts import HostResolver
from meshstack.spec.mesh import MeshSpec


class MeshModel:
    """One spec's shared indexes, each built on first use."""

    def __init__(self, spec: MeshSpec) -> None:
        self.spec = spec

    @cached_property
    def hosts(self) -> HostResolver:
        """How a name written in the spec becomes the host Istio matches."""
        return HostResolver(self.spec)

    @cached_property
    def placement(self) -> Placement:
        """Who enforces each namespace's and service's policy."""
        return Placement(self.spec)

    @cached_property
    def authorization(self) -> Evaluator:
        """What the authorization policies decide for one caller and one callee."""
        return Evaluator(self.spec, self.placement)


_MODELS: dict[int, MeshModel] = {}
"""By the spec object's identity, not its value: hashing a frozen spec walks all of it,
which for a large mesh would cost more than the indexes save. An entry leaves when its
spec is collected."""


def model_of(spec: MeshSpec) -> MeshModel:
    """The spec's model: built on the first ask, shared by every later one."""
    key = id(spec)
    found = _MODELS.get(key)
    if found is None or found.spec is not spec:
        found = _MODELS[key] = MeshModel(spec)
        weakref.finalize(spec, _MODELS.pop, key, None)
    return found
