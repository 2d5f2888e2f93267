"""Canary analysis: the candidate's checks evaluated against Prometheus, the verdict, and
the next step's weight written into the stack's config for review."""
