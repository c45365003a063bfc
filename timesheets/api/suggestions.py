"""Suggestion review: the cached pending list, accept and reject (`/api/timesheet-intelligence/suggestions/…`)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.ratelimits import MlRateLimited
from core.replica import reads_from_replica
from core.roles import is_staff_user
from tenants.cache import tenant_cache_get_fresh, tenant_cache_set_fresh
from timesheets.api.common import PeriodFilter, paginated
from timesheets.selectors import suggestion_pending_list, tenant_today
from timesheets.services import (
    MAX_DECISION_IDS,
    SUGGESTIONS_CACHE_NAMESPACE,
    DecisionItem,
    DecisionResult,
    suggestions_accept,
    suggestions_reject,
)

# A cached pending page is fresh this long; past it, one request rebuilds it (tenant_cache_get_fresh).
PENDING_CACHE_SECONDS = 120


class SuggestionPendingListApi(MlRateLimited, APIView):
    pagination_class = DefaultPagination  # read by paginated and by the OpenAPI schema

    class SuggestionPendingFilterSerializer(PeriodFilter):
        employee = serializers.UUIDField(required=False)
        project = serializers.UUIDField(required=False)
        confidence_below = serializers.DecimalField(
            max_digits=4, decimal_places=3, min_value=Decimal(0), max_value=Decimal(1), required=False
        )
        confidence_above = serializers.DecimalField(
            max_digits=4, decimal_places=3, min_value=Decimal(0), max_value=Decimal(1), required=False
        )

    class SuggestionPendingOutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        employee = serializers.UUIDField(source="employee_id")
        employee_name = serializers.CharField()
        project = serializers.UUIDField(source="project_id")
        project_code = serializers.CharField()
        date = serializers.DateField()
        hours = serializers.DecimalField(max_digits=5, decimal_places=2)
        confidence = serializers.DecimalField(max_digits=4, decimal_places=3)
        # A declared field, not Field.source: the serializer metaclass takes it out of the class namespace.
        source = serializers.CharField()  # type: ignore[assignment]
        explanation = serializers.CharField()
        expiry_date = serializers.DateField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[SuggestionPendingFilterSerializer], responses={200: SuggestionPendingOutputSerializer(many=True)}
    )
    @reads_from_replica
    def get(self, request: Request) -> Response | HttpResponse:
        """Pending suggestions, least confident first, then by date; cached per query and per reader's scope.

        The cache namespace is invalidated by every accept or reject and by generation, so a decided
        suggestion never shows here again. Time alone only bounds how long other changes (a renamed employee)
        take to show: a page past its freshness is rebuilt by one request while the rest are still served it.
        """
        filters = query_validate(self.SuggestionPendingFilterSerializer, request)
        today = tenant_today()
        key = self._cache_key(request, filters, today.isoformat())
        cached = tenant_cache_get_fresh(namespace=SUGGESTIONS_CACHE_NAMESPACE, key=key)
        if cached.state != "miss":
            # The page as it was rendered the first time: no serializer or renderer runs on a hit.
            return HttpResponse(cached.value, content_type="application/json", headers={"X-Cache": cached.state})
        suggestions = suggestion_pending_list(
            user=request.user,
            employee_id=filters.get("employee"),
            project_id=filters.get("project"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
            confidence_below=filters.get("confidence_below"),
            confidence_above=filters.get("confidence_above"),
            today=today,
        )
        response = paginated(
            request=request, view=self, queryset=suggestions, serializer_class=self.SuggestionPendingOutputSerializer
        )
        # Encoded as DRF's JSONRenderer does (compact, UTF-8), so a hit is byte-for-byte the page a miss returns.
        rendered = json.dumps(response.data, default=str, ensure_ascii=False, separators=(",", ":")).encode()
        tenant_cache_set_fresh(
            namespace=SUGGESTIONS_CACHE_NAMESPACE, key=key, value=rendered, fresh_seconds=PENDING_CACHE_SECONDS
        )
        response["X-Cache"] = "miss"
        return response

    @staticmethod
    def _cache_key(request: Request, filters: dict[str, Any], today: str) -> str:
        """Normalized query (validated filters, page) + the reader's scope + the host the page links point to."""
        scope = "staff" if is_staff_user(request.user) else f"user:{request.user.pk}"
        normalized = {
            "scope": scope,
            "host": request.get_host(),
            "today": today,
            "filters": {name: str(value) for name, value in sorted(filters.items())},
            "page": request.query_params.get("page", ""),
            "page_size": request.query_params.get("page_size", ""),
        }
        return hashlib.sha256(json.dumps(normalized, sort_keys=True).encode()).hexdigest()


class _DecisionResultOutput(serializers.Serializer[dict[str, Any]]):
    class SuggestionDecisionOutcomeSerializer(serializers.Serializer[dict[str, str]]):
        id = serializers.CharField()
        outcome = serializers.CharField()

    results = SuggestionDecisionOutcomeSerializer(many=True)
    accepted = serializers.IntegerField()
    already_accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    already_rejected = serializers.IntegerField()
    expired = serializers.IntegerField()
    not_pending = serializers.IntegerField()
    not_found = serializers.IntegerField()


def _decision_payload(result: DecisionResult) -> dict[str, Any]:
    return {
        "results": [{"id": label, "outcome": outcome.value} for label, outcome in result.results],
        **result.counts(),
    }


class SuggestionAcceptItemInputSerializer(serializers.Serializer[dict[str, Any]]):
    id = Text(max_length=100)
    hours = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(24),
        required=False,
        allow_null=True,
    )


class SuggestionAcceptApi(MlRateLimited, APIView):
    class SuggestionAcceptInputSerializer(serializers.Serializer[dict[str, Any]]):
        ids = serializers.ListField(
            child=Text(max_length=100), required=False, allow_empty=False, max_length=MAX_DECISION_IDS
        )
        items = SuggestionAcceptItemInputSerializer(
            many=True, required=False, allow_empty=False, max_length=MAX_DECISION_IDS
        )  # type: ignore[call-arg]  # DRF takes max_length for many=True since 3.14; the stubs lag

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("ids" in attrs) == ("items" in attrs):
                raise serializers.ValidationError({"ids": ["Send either ids or items (not both)."]})
            return attrs

    class SuggestionAcceptOutputSerializer(_DecisionResultOutput):
        pass

    @extend_schema(request=SuggestionAcceptInputSerializer, responses={200: SuggestionAcceptOutputSerializer})
    def post(self, request: Request) -> Response:
        """Accept pending suggestions by id, or with corrected hours (`items`); idempotent, per-id outcomes.

        Unknown, malformed, other tenants' and (for the Employee role) other people's ids are `not_found`.
        """
        data = self.SuggestionAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "items" in data.validated_data:
            items = [DecisionItem(id=item["id"], hours=item.get("hours")) for item in data.validated_data["items"]]
        else:
            items = [DecisionItem(id=value) for value in data.validated_data["ids"]]
        result = suggestions_accept(actor=request.user, items=items)
        return Response(self.SuggestionAcceptOutputSerializer(_decision_payload(result)).data)


class SuggestionRejectApi(MlRateLimited, APIView):
    class SuggestionRejectInputSerializer(serializers.Serializer[dict[str, Any]]):
        ids = serializers.ListField(
            child=Text(max_length=100), allow_empty=False, min_length=1, max_length=MAX_DECISION_IDS
        )

    class SuggestionRejectOutputSerializer(_DecisionResultOutput):
        pass

    @extend_schema(request=SuggestionRejectInputSerializer, responses={200: SuggestionRejectOutputSerializer})
    def post(self, request: Request) -> Response:
        """Reject pending suggestions; idempotent, per-id outcomes as for accept."""
        data = self.SuggestionRejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = suggestions_reject(actor=request.user, ids=data.validated_data["ids"])
        return Response(self.SuggestionRejectOutputSerializer(_decision_payload(result)).data)
