"""Unknown query parameters are refused, not ignored: ``?emial=`` must not list everyone."""

from __future__ import annotations

from fastapi import Request
from fastapi.routing import APIRoute

from amigo.core.errors import InvalidInputError

_KNOWN: dict[int, frozenset[str]] = {}  # by id(route): routes live as long as the app


def _known(route: APIRoute) -> frozenset[str]:
    """Return the query parameters the route and its dependencies declare."""
    known = _KNOWN.get(id(route))
    if known is None:
        pending, names = [route.dependant], set[str]()
        while pending:
            dependant = pending.pop()
            names.update(field.alias for field in dependant.query_params)
            pending.extend(dependant.dependencies)
        known = _KNOWN[id(route)] = frozenset(names)
    return known


def reject_unknown_query_parameters(request: Request) -> None:
    """Answer 400 naming the unknown parameters and the ones the route takes."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _known(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise InvalidInputError(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)}; this route takes "
            f"{', '.join(sorted(known)) or 'none'}",
            code="unknown_parameter",
            details={"unknown": unknown, "known": sorted(known)},
        )
