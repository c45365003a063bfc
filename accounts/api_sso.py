"""Single sign-on configuration API (Admin): `GET` and `PUT /api/sso/provider`. The client secret is write-only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import SsoProvider
from accounts.selectors import sso_provider_get
from accounts.services.sso import SsoSettings, sso_provider_configure
from core.fields import Text
from core.roles import ROLES, IsAdmin

_DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class SsoProviderOutputSerializer(serializers.Serializer[dict[str, Any]]):
    configured = serializers.BooleanField(help_text="False until an Admin saves a provider.")
    display_name = serializers.CharField()
    issuer = serializers.CharField()
    client_id = serializers.CharField()
    client_secret_set = serializers.BooleanField(help_text="Whether a secret is stored; the secret is never shown.")
    allowed_domains = serializers.ListField(child=serializers.CharField())
    role_claim = serializers.CharField()
    default_role = serializers.ChoiceField(choices=ROLES)
    enabled = serializers.BooleanField()
    require_sso = serializers.BooleanField()
    callback_url = serializers.CharField(help_text="The redirect URI to register at the provider.")


def _payload(provider: SsoProvider | None, request: Request) -> dict[str, Any]:
    callback = request.build_absolute_uri("/sso/callback")
    if provider is None:
        return {
            "configured": False,
            "display_name": "",
            "issuer": "",
            "client_id": "",
            "client_secret_set": False,
            "allowed_domains": [],
            "role_claim": "",
            "default_role": "Employee",
            "enabled": False,
            "require_sso": False,
            "callback_url": callback,
        }
    return {
        "configured": True,
        "display_name": provider.display_name,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret_set": bool(provider.client_secret),
        "allowed_domains": provider.allowed_domains,
        "role_claim": provider.role_claim,
        "default_role": provider.default_role,
        "enabled": provider.enabled,
        "require_sso": provider.require_sso,
        "callback_url": callback,
    }


class SsoProviderApi(APIView):
    permission_classes = [IsAdmin]

    class SsoProviderInputSerializer(serializers.Serializer[dict[str, Any]]):
        display_name = Text(max_length=100, help_text='Shown on the sign-in button: "Sign in with …".')
        issuer = serializers.URLField(max_length=500, help_text="Discovery is read from <issuer>/.well-known/…")
        client_id = Text(max_length=255)
        client_secret = Text(
            max_length=1000,
            required=False,
            write_only=True,
            trim_whitespace=False,
            help_text="Write-only. Required the first time; left out, the stored secret is kept.",
        )
        allowed_domains = serializers.ListField(
            child=serializers.RegexField(_DOMAIN_PATTERN, max_length=253),
            min_length=1,
            max_length=100,
            help_text="Lower-case e-mail domains whose addresses may sign in.",
        )
        role_claim = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        default_role = serializers.ChoiceField(choices=ROLES)
        enabled = serializers.BooleanField(default=True)
        require_sso = serializers.BooleanField(default=False, help_text="Password logins only for Admins.")

    @extend_schema(responses={200: SsoProviderOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(SsoProviderOutputSerializer(_payload(sso_provider_get(), request)).data)

    @extend_schema(request=SsoProviderInputSerializer, responses={200: SsoProviderOutputSerializer})
    def put(self, request: Request) -> Response:
        """Set the tenant's OpenID Connect provider. A bad value is a 400 naming it; nothing is contacted here."""
        data = self.SsoProviderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        provider = sso_provider_configure(
            actor=request.user,
            values=SsoSettings(
                display_name=values["display_name"],
                issuer=values["issuer"],
                client_id=values["client_id"],
                client_secret=values.get("client_secret") or None,
                allowed_domains=list(values["allowed_domains"]),
                role_claim=values["role_claim"],
                default_role=values["default_role"],
                enabled=values["enabled"],
                require_sso=values["require_sso"],
            ),
        )
        return Response(SsoProviderOutputSerializer(_payload(provider, request)).data)
