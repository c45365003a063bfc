"""Authentication API: exchange a tenant user's username and password for an API token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.protection import login_attempt
from accounts.services import auth_token_issue
from accounts.services.sso import sso_password_login_refusal
from core.errors import ApplicationError
from core.fields import Text
from core.roles import user_roles


class InvalidCredentials(ApplicationError):
    status = 400
    code = "invalid_credentials"


class AuthTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class AuthTokenInputSerializer(serializers.Serializer[dict[str, str]]):
        username = Text(max_length=150)
        password = Text(max_length=256, trim_whitespace=False)

    class AuthTokenOutputSerializer(serializers.Serializer[dict[str, str]]):
        token = serializers.CharField()

    @extend_schema(request=AuthTokenInputSerializer, responses={200: AuthTokenOutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        """A login token for a username and password. After a few failures from one address or for one account
        the answer is 429 with `Retry-After`, until the window passes."""
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
        return Response(self.AuthTokenOutputSerializer({"token": auth_token_issue(user=user)}).data)


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
