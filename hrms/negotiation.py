"""Content negotiation of the API: a view with one renderer answers in it without reading `Accept`.

Nearly every API view renders JSON only. DRF would still parse the `Accept` header of each request to pick
among one renderer, and answer 406 to a client that did not list JSON. RFC 9110 (section 12.5.1) lets a
server disregard `Accept` instead and send its one representation, which is what clients of a JSON API expect.
Views that offer several representations (the OpenAPI schema, CSV exports) negotiate as DRF does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


class SingleRendererNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None) -> Any:
        offered = list(renderers)
        if len(offered) == 1 and format_suffix is None:
            return offered[0], offered[0].media_type
        return super().select_renderer(request, offered, format_suffix)
