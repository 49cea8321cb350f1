"""htmx's request headers, read once per request (like django-htmx's `request.htmx`).

A plain function, not a FastAPI dependency: reading headers needs no thread, and pages call it
where they decide between a fragment and a whole page.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response


@dataclass(frozen=True)
class Htmx:
    is_htmx: bool  # HX-Request: true — htmx sent it
    boosted: bool  # HX-Boosted — a boosted link or form, which wants the whole page

    @property
    def wants_fragment(self) -> bool:
        """htmx swaps part of the page: answer with the fragment, not the whole page."""
        return self.is_htmx and not self.boosted

    def push_url(self, response: Response, url: str) -> Response:
        """Have htmx show `url` in the address bar (the clean URL of what is on screen)."""
        if self.is_htmx:
            response.headers["HX-Push-Url"] = url
        return response


def htmx(request: Request) -> Htmx:
    """The request's htmx details, read from its headers the first time they are asked for."""
    details = getattr(request.state, "htmx", None)
    if details is None:
        details = request.state.htmx = Htmx(is_htmx=request.headers.get("HX-Request") == "true",
                                            boosted=bool(request.headers.get("HX-Boosted")))
    return details
