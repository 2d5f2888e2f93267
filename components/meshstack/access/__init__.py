"""Who can reach what: the effective authorization between workloads (``graph``), from
the edge (``ingress``), to external hosts (``egress``), and which hosts a caller's sidecar
knows at all (``sidecar_scope``)."""
