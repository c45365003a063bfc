"""Pay periods: the tenant's policy (`/api/pay-periods/policy`), the list, closing and reopening a period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date, Flag, Text
from core.query import query_validate
from core.roles import IsAdmin
from timesheets.api.common import STAFF_ONLY, MethodRoute, path_uuid
from timesheets.lifecycle import MAX_LISTED_PERIODS, PeriodView, pay_period_get, pay_periods_between, pay_policy_get
from timesheets.models import PayFrequency, PayPeriod
from timesheets.selectors import tenant_today
from timesheets.services.periods import MAX_REASON, pay_period_close, pay_period_reopen, pay_policy_update


class PayPolicySerializer(serializers.Serializer[Any]):
    frequency = serializers.ChoiceField(choices=PayFrequency.choices)
    anchor_date = Date(help_text="Weekly/bi-weekly: a first day of a period. Monthly: its day of month (1-28).")


class PayPolicyGetApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PayPolicySerializer})
    def get(self, request: Request) -> Response:
        """The tenant's pay period policy (monthly calendar months until one is set)."""
        policy = pay_policy_get()
        return Response(PayPolicySerializer({"frequency": policy.frequency, "anchor_date": policy.anchor_date}).data)


class PayPolicyUpdateApi(APIView):
    permission_classes = [IsAuthenticated, IsAdmin]

    @extend_schema(request=PayPolicySerializer, responses={200: PayPolicySerializer})
    def put(self, request: Request) -> Response:
        """Set the pay period policy (Admin). Periods already closed keep their dates."""
        data = PayPolicySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = pay_policy_update(
            actor=request.user,
            frequency=data.validated_data["frequency"],
            anchor_date=data.validated_data["anchor_date"],
        )
        return Response(PayPolicySerializer({"frequency": row.frequency, "anchor_date": row.anchor_date}).data)


class PayPolicyRoute(MethodRoute, PayPolicyGetApi, PayPolicyUpdateApi):
    """`GET/PUT /api/pay-periods/policy`."""


class PayPeriodOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(allow_null=True, help_text="Null until the period is closed for the first time.")
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    status = serializers.CharField(help_text="open or closed.")
    closed_at = serializers.DateTimeField(allow_null=True)
    override = serializers.BooleanField()
    override_reason = serializers.CharField()
    unapproved = serializers.ListField(child=serializers.DictField())
    reopened_at = serializers.DateTimeField(allow_null=True)
    reopen_reason = serializers.CharField()


def period_data(view: PeriodView | PayPeriod) -> dict[str, Any]:
    row = view if isinstance(view, PayPeriod) else view.row
    return dict(
        PayPeriodOutputSerializer(
            {
                "id": row.id if row else None,
                "start_date": view.start_date,
                "end_date": view.end_date,
                "status": view.status,
                "closed_at": row.closed_at if row else None,
                "override": row.override if row else False,
                "override_reason": row.override_reason if row else "",
                "unapproved": row.unapproved if row else [],
                "reopened_at": row.reopened_at if row else None,
                "reopen_reason": row.reopen_reason if row else "",
            }
        ).data
    )


class PayPeriodListApi(APIView):
    permission_classes = [IsAuthenticated]

    class PayPeriodFilterSerializer(serializers.Serializer[Any]):
        date_from = Date(required=False)
        date_to = Date(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            start, end = attrs.get("date_from"), attrs.get("date_to")
            if start and end and end < start:
                raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
            return attrs

    @extend_schema(parameters=[PayPeriodFilterSerializer], responses={200: PayPeriodOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """The pay periods overlapping the range (default: the last 90 days), newest first; at most 60."""
        filters = query_validate(self.PayPeriodFilterSerializer, request, paginated=False)
        end = filters.get("date_to") or tenant_today()
        start = filters.get("date_from") or end - timedelta(days=90)
        if start > end:
            start = end
        views = pay_periods_between(date_from=start, date_to=end)[:MAX_LISTED_PERIODS]
        return Response([period_data(view) for view in views])


class PayPeriodCloseApi(APIView):
    permission_classes = STAFF_ONLY

    class PayPeriodCloseInputSerializer(serializers.Serializer[Any]):
        date = Date(help_text="Any day of the period to close.")
        override = Flag(required=False, default=False, help_text="Close although some weeks are not approved.")
        override_reason = Text(required=False, default="", allow_blank=True, max_length=MAX_REASON)

    @extend_schema(request=PayPeriodCloseInputSerializer, responses={200: PayPeriodOutputSerializer})
    def post(self, request: Request) -> Response:
        """Close the pay period containing `date` (HR/Admin). 409 listing the weeks that are not approved,
        unless `override` is true with a reason; 409 when it is already closed."""
        data = self.PayPeriodCloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = pay_period_close(
            actor=request.user,
            day=data.validated_data["date"],
            override=data.validated_data["override"],
            override_reason=data.validated_data["override_reason"],
        )
        return Response(period_data(result.period))


class PayPeriodReopenApi(APIView):
    permission_classes = [IsAuthenticated, IsAdmin]

    class PayPeriodReopenInputSerializer(serializers.Serializer[Any]):
        reason = Text(max_length=MAX_REASON)

    @extend_schema(request=PayPeriodReopenInputSerializer, responses={200: PayPeriodOutputSerializer})
    def post(self, request: Request, pay_period_id: str) -> Response:
        """Reopen a closed pay period (Admin, with a reason); 409 when it is not closed."""
        period = pay_period_get(period_id=path_uuid(pay_period_id, "pay_period_id"))
        data = self.PayPeriodReopenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = pay_period_reopen(actor=request.user, period=period, reason=data.validated_data["reason"])
        return Response(period_data(row))
