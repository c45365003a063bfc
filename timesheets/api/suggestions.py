"""Suggestion review: the cached pending list, accept and reject (`/api/timesheet-intelligence/suggestions/…`)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.fields import Flag, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.ratelimits import MlRateLimited
from core.replica import reads_from_replica
from core.roles import IsHROrAdmin, is_staff_user
from tenants.cache import tenant_cache_get_fresh, tenant_cache_set_fresh
from timesheets.api.common import PeriodFilter, paginated
from timesheets.selectors import suggestion_pending_list, tenant_auto_accept_threshold, tenant_today, uuid_or_none
from timesheets.services import (
    MAX_DECISION_IDS,
    SUGGESTIONS_CACHE_NAMESPACE,
    ConfidentCriteria,
    DecisionItem,
    DecisionResult,
    acceptance_batch_undo,
    suggestions_accept,
    suggestions_accept_confident,
    suggestions_confident_summary,
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


class SuggestionAcceptConfidentApi(MlRateLimited, APIView):
    permission_classes = [IsAuthenticated, IsHROrAdmin]

    class SuggestionAcceptConfidentInputSerializer(PeriodFilter):
        min_confidence = serializers.DecimalField(
            max_digits=4,
            decimal_places=3,
            min_value=Decimal(0),
            max_value=Decimal(1),
            required=False,
            help_text="Lowest confidence accepted (0 to 1); the tenant's auto-accept threshold when left out.",
        )
        employee = serializers.UUIDField(required=False)
        project = serializers.UUIDField(required=False)
        preview = Flag(required=False, default=False, help_text="Only count what would be accepted.")

    class SuggestionAcceptConfidentOutputSerializer(serializers.Serializer[dict[str, Any]]):
        batch_id = serializers.UUIDField(allow_null=True)
        preview = serializers.BooleanField()
        min_confidence = serializers.DecimalField(max_digits=4, decimal_places=3)
        count = serializers.IntegerField()
        hours = serializers.DecimalField(max_digits=12, decimal_places=2)
        employees = serializers.IntegerField(allow_null=True)

    @extend_schema(
        request=SuggestionAcceptConfidentInputSerializer, responses={200: SuggestionAcceptConfidentOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Accept every pending suggestion at or above a confidence, within the filters, in one server-side action.

        With `preview` nothing changes: the answer says how many suggestions, hours and people it would take. A
        day that already has an allocation for that project is left alone (its suggestion stays pending). The
        accepted suggestions form one batch, which `…/suggestions/batches/{batch_id}/undo` puts back.
        """
        data = self.SuggestionAcceptConfidentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        criteria = ConfidentCriteria(
            min_confidence=values.get("min_confidence", tenant_auto_accept_threshold()),
            employee_id=values.get("employee"),
            project_id=values.get("project"),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
        )
        payload: dict[str, Any]
        if values["preview"]:
            summary = suggestions_confident_summary(user=request.user, criteria=criteria)
            payload = {"batch_id": None, "count": summary.count, "hours": summary.hours, "employees": summary.employees}
        else:
            batch = suggestions_accept_confident(actor=request.user, criteria=criteria)
            payload = {"batch_id": batch.id, "count": batch.accepted, "hours": batch.hours, "employees": None}
        payload.update(preview=values["preview"], min_confidence=criteria.min_confidence)
        return Response(self.SuggestionAcceptConfidentOutputSerializer(payload).data)


class SuggestionBatchUndoApi(MlRateLimited, APIView):
    permission_classes = [IsAuthenticated, IsHROrAdmin]

    class SuggestionBatchUndoOutputSerializer(serializers.Serializer[dict[str, Any]]):
        batch_id = serializers.UUIDField()
        reverted = serializers.IntegerField()
        kept = serializers.IntegerField()

    @extend_schema(request=None, responses={200: SuggestionBatchUndoOutputSerializer})
    def post(self, request: Request, batch_id: str) -> Response:
        """Undo a confident accept: its allocations go and its suggestions are pending again.

        Allocations edited since the accept are kept (`kept`). Undoing twice is a 409.
        """
        key = uuid_or_none(batch_id)
        if key is None:
            raise NotFound("No such acceptance.")
        result = acceptance_batch_undo(actor=request.user, batch_id=key)
        return Response(
            self.SuggestionBatchUndoOutputSerializer(
                {"batch_id": result.batch_id, "reverted": result.reverted, "kept": result.kept}
            ).data
        )
