"""A user's own reminder preferences (`GET/PUT /api/reminders/preference`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Flag
from timesheets.services.reminders import reminder_preference_get, reminder_preference_set


class ReminderPreferenceSerializer(serializers.Serializer[Any]):
    week_reminders = Flag(help_text="E-mail when my week is due (Friday afternoon) or overdue.")
    manager_digest = Flag(help_text="A daily e-mail of the weeks waiting for my decision (HR and managers).")


class ReminderPreferenceRoute(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ReminderPreferenceSerializer})
    def get(self, request: Request) -> Response:
        """My reminder preferences (both on until turned off). A rejected week is always told."""
        preference = reminder_preference_get(user=request.user)
        return Response(ReminderPreferenceSerializer(preference).data)

    @extend_schema(request=ReminderPreferenceSerializer, responses={200: ReminderPreferenceSerializer})
    def put(self, request: Request) -> Response:
        """Turn my reminders on or off."""
        data = ReminderPreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preference = reminder_preference_set(user=request.user, **data.validated_data)
        return Response(ReminderPreferenceSerializer(preference).data)
