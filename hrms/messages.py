"""Django's one-time messages, for the server-rendered pages only.

API requests never show a message, so they skip setting up the message storage (a cookie and a session
backend read per request).
"""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest

API_PREFIX = "/api/"


class PageMessageMiddleware(MessageMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if not request.path.startswith(API_PREFIX):
            super().process_request(request)
