"""meshstack: Istio as typed Python.

The package is split by concern so the folder shows the architecture:

* ``meshstack.spec``        immutable, typed models of workloads and mesh policy
* ``meshstack.validation``  whole-spec checks that report every problem with its field path
* ``meshstack.render``      pure functions from a spec to plain Kubernetes objects
* ``meshstack.apps``        Bookinfo and Online Boutique built from the models
* ``meshstack.components``  the thin Pulumi shell that registers rendered objects
* ``meshstack.graph``, ``meshstack.diff``  who can call whom; what a change does to the mesh
* ``meshstack.guardrails``  preview-time rules, served by the policy pack in ``policy/``
* ``meshstack.review``      the pull-request comment the review workflow posts
* ``meshstack.cli``         ``meshstack validate|render|charts|graph|diff|review-comment``
"""

__version__ = "0.1.0"
