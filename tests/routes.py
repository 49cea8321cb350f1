"""Walking every route the app registers, through included routers of any FastAPI version."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount


def iter_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI ≥ 0.16x keeps included routers as one node
            context = getattr(route, "include_context", None)
            yield from iter_routes(original.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, (APIRoute, Mount)) or hasattr(route, "path"):
            yield prefix + route.path, route


def permissions_of(route: APIRoute) -> set[str]:
    """The permission names declared by a route's dependencies (see mne.deps.permission)."""
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        name = getattr(dependant.call, "__mne_permission__", None)
        if name:
            found.add(name)
        stack.extend(dependant.dependencies)
    return found
