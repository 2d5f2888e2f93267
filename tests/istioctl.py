"""Istio's own analyzer (``istioctl analyze``, offline) as a judge of rendered manifests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from engine import toolchain_bin
from engine_stack import require_toolchain

JUSTIFIED = {
    ("IST0133", "EnvoyFilter", ""): "EnvoyFilter is Istio's only API for Envoy's local rate "
    "limit; the analyzer warns about every EnvoyFilter, whatever it does",
    ("IST0133", "AuthorizationPolicy", "jwt-require-token"): "the DENY rule that requires a "
    "JWT matches on request principals, which only HTTP carries; the analyzer warns that it "
    "would deny TCP ports in its scope (the JWT-protected workloads here serve HTTP only; "
    "naming the ports in the rule is not done yet)",
}
"""Messages a stack may carry — (code, kind of the object, the end of its name) — each
with the reason it is acceptable. IST0133 is every schema warning, so it is justified
for one kind of object, never for all."""


def justified(message: dict[str, Any]) -> bool:
    kind, _, name = str(message.get("origin", "")).partition(" ")
    return any(
        (code, of_kind) == (message["code"], kind) and name.endswith(suffix)
        for code, of_kind, suffix in JUSTIFIED
    )


def analyze(directory: Path) -> list[dict[str, Any]]:
    """Every message ``istioctl analyze --use-kube=false`` has for the YAML in ``directory``."""
    require_toolchain("istioctl")
    done = subprocess.run(
        [
            str(toolchain_bin() / "istioctl"),
            "analyze",
            "--use-kube=false",
            "-A",
            "-o",
            "json",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Exit 0: clean; 79: warnings found; 3 (and others): errors found or a failure.
    if not done.stdout.strip().startswith("["):
        if done.returncode == 0:
            return []
        raise RuntimeError(f"istioctl analyze failed ({done.returncode}): {done.stderr}")
    messages: list[dict[str, Any]] = json.loads(done.stdout)
    return messages


def unjustified(messages: list[dict[str, Any]]) -> list[str]:
    return [
        f"{m['code']} {m['level']} {m['origin']}: {m['message']}"
        for m in messages
        if not justified(m)
    ]
