"""Sends an Admin of a tenant that requires two-step sign-in, and who has not set it up, to set it up first."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

from accounts.selectors import two_step_enabled
from core.errors import error_response
from core.roles import is_admin_user

SETUP_PATH = "/account/two-step"
# What such an Admin may still reach: the set-up itself, signing out, and what needs no login.
_ALLOWED_PREFIXES = (
    SETUP_PATH,
    "/api/auth/two-step",
    "/logout",
    "/login",
    "/static/",
    "/healthz",
    "/readyz",
    "/api/auth/token",
)


class SecondFactorRequiredMiddleware:
    """Only a signed-in session is looked at (API tokens are refused at issue, accounts/api.py); on other tenants,
    and for everyone but Admins, it costs one attribute read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if getattr(getattr(request, "tenant", None), "require_admin_two_step", False) and self._must_set_up(request):
            return self._refusal(request)
        return self.get_response(request)

    @staticmethod
    def _must_set_up(request: HttpRequest) -> bool:
        if request.path.startswith(_ALLOWED_PREFIXES):
            return False
        user = request.user
        return bool(user.is_authenticated and is_admin_user(user) and not two_step_enabled(user=user))

    @staticmethod
    def _refusal(request: HttpRequest) -> HttpResponse:
        text = "This company requires two-step sign-in for Admins: set it up to continue."
        if request.path.startswith("/api/"):
            return error_response(403, "two_step_required", f"{text} ({SETUP_PATH})")
        messages.warning(request, text)
        return redirect(SETUP_PATH)
