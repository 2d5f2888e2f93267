"""meshstack: Istio as typed Python.

The package is split by concern so the folder shows the architecture (every module):

* ``spec/``          immutable, typed models of workloads and mesh policy; ``paths`` (how a
                     field path names an item), ``build_mistakes`` (constructor mistakes,
                     collected with their stack-file line)
* ``validation/``    whole-spec checks that report every problem with its field path
* ``render/``        pure functions from a spec to plain Kubernetes objects and Helm releases;
                     ``render/slo`` service level objectives (``spec/slo``) as Prometheus rules;
                     ``istio_metrics`` the Istio series both SLOs and canaries read
* ``canary/``        a canary's analysis (``spec/analysis``) judged against Prometheus:
                     ``queries``, ``prometheus`` (the HTTP API), ``verdict``, ``status``,
                     ``weights_file`` (the next weight written into the stack's config)
* ``apps/``          Bookinfo and Online Boutique built from the models; ``recipes`` the
                     gateways and ingress routes they use
* ``components/``    the thin Pulumi shell that registers rendered objects and charts
* ``access/``        who can reach what: ``authorization`` (one caller, one callee, as the
                     policies decide), ``graph`` (between every pair of workloads),
                     ``ingress`` (from the edge), ``egress`` (to external hosts),
                     ``sidecar_scope``
* ``diff/``          what a change does to the mesh: ``subjects`` (a spec as objects and
                     facts), ``keys`` (typed line keys), ``risk`` (the ⚠ rules),
                     ``comment`` (the pull-request comment)
* ``gateway_api/``   the Kubernetes Gateway API: ``translation`` (routes as HTTPRoutes, and
                     what they cannot express), ``objects`` (what is rendered)
* ``guardrails/``    preview-time rules; ``policy_pack/`` serves them to the engine
* ``program``        the Pulumi program (``run()``, ``deploy()``); ``component_provider``
                     the same for Pulumi YAML (``meshstack-provider``), ``provider_plugin``
                     it as an installed Pulumi plugin; ``executables`` where the package's
                     console scripts are; ``crd_layer`` what a CRD layer stack holds and
                     whether it serves a mesh stack (``IstioInstall.crd_stack``)
* ``stacks``         stack files and the modules they import; ``stack_config`` config as
                     Pulumi reads it and the production setting; ``overrides`` the config
                     that tunes a spec; ``spec_sites`` the stack-file line of a problem
* ``multicluster``   each cluster's view of a multi-cluster spec; the remote secrets and
                     ``cacerts`` that join the clusters
* ``model``          one spec's shared indexes (hosts, placement, authorization), built once
* ``k8s``            Kubernetes objects as plain dicts (metadata, API groups, CRD prose)
* ``hosts``          how a name becomes the host Istio matches; ``route_names`` the names
                     Istio gives the proxy routes to a service; ``enforcement`` who
                     enforces a namespace's policy (sidecars, ztunnel, waypoints);
                     ``least_privilege`` the policies a spec's declared calls need
* ``chart_files``    local sources hold what is installed; remote ones are reachable;
                     ``locations`` ``${NAME}`` in their paths
* ``istio_judge``    Istio's own control plane as the judge (``judge_go/``); ``trace``
                     one request through it
* ``scaffold``       ``meshstack init``; ``synthetic`` meshes of N services for benchmarks;
                     ``runtime`` the program's process tuning; ``yaml_text`` YAML output
* ``cli``            ``meshstack validate|render|charts|graph|diff|trace|init|policy-pack|...``
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("meshstack")
    """The installed distribution's version (pyproject.toml is the one place it is written)."""
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
