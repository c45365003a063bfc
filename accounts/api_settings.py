"""Tenant settings API (Admin): `GET` and `PATCH /api/tenant/settings`."""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict
from decimal import Decimal
from typing import Any, cast

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Flag, Text
from core.roles import IsAdmin
from tenants.locales import LOCALES
from tenants.settings_service import (
    GRANULARITIES,
    ML_RATE_LIMIT_MAX,
    TenantSettingsChanges,
    tenant_settings_of,
    tenant_settings_update,
)

TIME_ZONES = sorted(zoneinfo.available_timezones())
GRANULARITY_CHOICES = [str(g) for g in GRANULARITIES]


class TenantSettingsOutputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    timezone = serializers.CharField()
    locale = serializers.ChoiceField(choices=list(LOCALES))
    work_week = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6))
    suggestion_granularity = serializers.ChoiceField(choices=GRANULARITY_CHOICES)
    auto_accept_threshold = serializers.DecimalField(max_digits=3, decimal_places=2)
    ml_rate_limit_per_minute = serializers.IntegerField()
    require_admin_two_step = serializers.BooleanField()


def _payload() -> dict[str, Any]:
    values = asdict(tenant_settings_of(connection.tenant))  # type: ignore[attr-defined]
    values["suggestion_granularity"] = str(values["suggestion_granularity"])
    return values


class TenantSettingsApi(APIView):
    permission_classes = [IsAdmin]

    class TenantSettingsUpdateInputSerializer(serializers.Serializer[dict[str, Any]]):
        name = Text(max_length=200, required=False, help_text="The company's name as the product shows it.")
        timezone = serializers.ChoiceField(choices=TIME_ZONES, required=False)
        locale = serializers.ChoiceField(
            choices=list(LOCALES), required=False, help_text="How pages write dates and numbers (not the API)."
        )
        work_week = serializers.ListField(
            child=serializers.IntegerField(min_value=0, max_value=6),
            min_length=1,
            max_length=7,
            required=False,
            help_text="Working weekdays, 0 (Monday) to 6 (Sunday), each once.",
        )
        suggestion_granularity = serializers.ChoiceField(
            choices=GRANULARITY_CHOICES, required=False, help_text="Hours: suggestions are multiples of it."
        )
        auto_accept_threshold = serializers.DecimalField(
            max_digits=3, decimal_places=2, min_value=Decimal(0), max_value=Decimal(1), required=False
        )
        ml_rate_limit_per_minute = serializers.IntegerField(min_value=1, max_value=ML_RATE_LIMIT_MAX, required=False)
        require_admin_two_step = Flag(
            required=False,
            help_text="Admins must sign in with a second factor; one without a device is sent to set it up first.",
        )

    @extend_schema(responses={200: TenantSettingsOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(TenantSettingsOutputSerializer(_payload()).data)

    @extend_schema(request=TenantSettingsUpdateInputSerializer, responses={200: TenantSettingsOutputSerializer})
    def patch(self, request: Request) -> Response:
        """Change some settings; every process uses them within seconds. A bad value is a 400 naming it."""
        data = self.TenantSettingsUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "suggestion_granularity" in changes:
            changes["suggestion_granularity"] = Decimal(changes["suggestion_granularity"])
        tenant_settings_update(actor=request.user, changes=cast(TenantSettingsChanges, changes))
        return Response(TenantSettingsOutputSerializer(_payload()).data)
