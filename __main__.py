"""The Pulumi program: everything lives in the ``meshstack`` package (``meshstack.program``)."""

from meshstack.program import run

run()
