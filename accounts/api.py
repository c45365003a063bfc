"""Authentication API: exchange a tenant user's username and password (and, for a login with two-step sign-in,
a code) for an API token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.protection import login_attempt, login_begin, login_succeeded
from accounts.selectors import two_step_enabled
from accounts.services import auth_token_issue
from accounts.services.sso import sso_password_login_refusal
from accounts.services.two_step import WRONG_CODE, two_step_verify
from core.errors import ApplicationError
from core.fields import Text
from core.roles import is_admin_user, user_roles


class InvalidCredentials(ApplicationError):
    status = 400
    code = "invalid_credentials"


class AuthTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class AuthTokenInputSerializer(serializers.Serializer[dict[str, str]]):
        username = Text(max_length=150)
        password = Text(max_length=256, trim_whitespace=False)
        otp = Text(
            max_length=32,
            required=False,
            help_text="For a login with two-step sign-in: the 6-digit code of its authenticator app, or one of its "
            "recovery codes (each works once).",
        )

    class AuthTokenOutputSerializer(serializers.Serializer[dict[str, str]]):
        token = serializers.CharField()

    @extend_schema(request=AuthTokenInputSerializer, responses={200: AuthTokenOutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        """A login token for a username and password, and `otp` for a login with two-step sign-in (without it, or
        with a wrong or used code, the answer is 400 naming `otp`). After a few failures (passwords and codes)
        from one address or for one account the answer is 429 with `Retry-After`, until the window passes."""
        data = self.AuthTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]

        def attempt() -> Any:
            user = authenticate(request._request, username=username, password=password)
            return user if user is not None and user.is_active else None

        # Past the failure limits of the address or the account: 429 before any hash (accounts/protection.py).
        user = login_attempt(request._request, username, attempt)
        if user is None:
            raise InvalidCredentials("Unable to log in with these credentials.")
        sso_refusal = sso_password_login_refusal(user=user)
        if sso_refusal is not None:
            raise InvalidCredentials(sso_refusal)
        second_factor = _second_factor(request, user, str(data.validated_data.get("otp") or ""))
        token = auth_token_issue(user=user, second_factor=second_factor)
        return Response(self.AuthTokenOutputSerializer({"token": token}).data)


def _second_factor(request: Request, user: Any, code: str) -> str | None:
    """How the login proved its second factor (None: it has none), or the 400 naming `otp`."""
    if not two_step_enabled(user=user):
        if getattr(request.tenant, "require_admin_two_step", False) and is_admin_user(user):
            raise InvalidCredentials(
                "This company requires two-step sign-in for Admins.",
                fields={"otp": ["Turn on two-step sign-in in the web UI (Account, Two-step sign-in) first."]},
            )
        return None
    if not code.strip():
        raise InvalidCredentials("This login uses two-step sign-in.", fields={"otp": ["A code is required."]})
    # A wrong code counts against the address and the account like a wrong password (429 past the limits).
    refusal = login_begin(request._request, user.get_username())
    if refusal is not None:
        raise refusal
    method = two_step_verify(user=user, code=code)
    if method is None:
        raise InvalidCredentials("Unable to log in with this code.", fields={"otp": [WRONG_CODE]})
    login_succeeded(request._request, user.get_username())
    return method


class AuthMeApi(APIView):
    """Who the caller is in this tenant, and with which roles."""

    class AuthMeOutputSerializer(serializers.Serializer[dict[str, object]]):
        username = serializers.CharField()
        email = serializers.EmailField()
        roles = serializers.ListField(child=serializers.CharField())
        tenant = serializers.CharField()

    @extend_schema(responses={200: AuthMeOutputSerializer})
    def get(self, request: Request) -> Response:
        user = request.user
        payload = {
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "roles": sorted(user_roles(user)),
            "tenant": request.tenant.slug,
        }
        return Response(self.AuthMeOutputSerializer(payload).data)
