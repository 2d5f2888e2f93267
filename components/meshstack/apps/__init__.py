"""Sample applications built from the spec models: Bookinfo and Online Boutique."""

from meshstack.apps.bookinfo import bookinfo
from meshstack.apps.online_boutique import online_boutique

__all__ = ["bookinfo", "online_boutique"]
