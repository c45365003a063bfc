"""Audit API: `GET /api/audit/events` (filters) and `GET /api/audit/verify` (HR and Admin)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditEvent
from audit.selectors import audit_events
from audit.services import audit_verify
from core.fields import Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.replica import reads_from_replica
from core.roles import IsHROrAdmin


class AuditEventListApi(APIView):
    permission_classes = [IsHROrAdmin]
    pagination_class = DefaultPagination  # read by the OpenAPI schema as well

    class AuditEventFilterSerializer(serializers.Serializer[dict[str, object]]):
        actor = Text(required=False, max_length=200)
        action = Text(required=False, max_length=64)
        object_type = Text(required=False, max_length=64)
        object_id = Text(required=False, max_length=64)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    class AuditEventOutputSerializer(serializers.ModelSerializer[AuditEvent]):
        class Meta:
            model = AuditEvent
            fields = [
                "sequence",
                "occurred_at",
                "actor_type",
                "actor_id",
                "actor_label",
                "action",
                "object_type",
                "object_id",
                "data",
                "prev_hash",
                "hash",
            ]

    @extend_schema(parameters=[AuditEventFilterSerializer], responses={200: AuditEventOutputSerializer(many=True)})
    @reads_from_replica
    def get(self, request: Request) -> Response:
        filters = query_validate(self.AuditEventFilterSerializer, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(audit_events(**filters), request, view=self)
        return paginator.get_paginated_response(self.AuditEventOutputSerializer(page, many=True).data)


class AuditVerifyApi(APIView):
    permission_classes = [IsHROrAdmin]

    class AuditVerifyOutputSerializer(serializers.Serializer[dict[str, object]]):
        schema = serializers.CharField()
        ok = serializers.BooleanField()
        events = serializers.IntegerField()
        head_sequence = serializers.IntegerField()
        broken_sequence = serializers.IntegerField(allow_null=True)
        reason = serializers.CharField(allow_blank=True)
        checkpoint_sequence = serializers.IntegerField(allow_null=True)

    @extend_schema(responses={200: AuditVerifyOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(self.AuditVerifyOutputSerializer(audit_verify().as_dict()).data)
