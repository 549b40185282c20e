"""Record rules: what one instance of a flow must contain and which path it takes."""

from .routing import Route, RouteError, derive_values, route

__all__ = ["Route", "RouteError", "derive_values", "route"]
