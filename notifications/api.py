"""E-mail record API: `GET /api/emails` (HR and Admin), so a message that could not be sent is never silent."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.roles import IsHROrAdmin
from notifications.models import EmailStatus, OutgoingEmail
from notifications.selectors import email_list


class EmailListApi(APIView):
    permission_classes = [IsHROrAdmin]
    pagination_class = DefaultPagination

    class EmailListFilterSerializer(serializers.Serializer[dict[str, object]]):
        status = serializers.ChoiceField(choices=EmailStatus.choices, required=False)
        to = Text(required=False, max_length=254)

    class EmailListOutputSerializer(serializers.Serializer[OutgoingEmail]):
        id = serializers.UUIDField()
        to = serializers.EmailField()
        template = serializers.CharField()
        subject = serializers.CharField()
        status = serializers.ChoiceField(choices=EmailStatus.choices)
        attempts = serializers.IntegerField()
        last_error = serializers.CharField()
        created_at = serializers.DateTimeField()
        sent_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(parameters=[EmailListFilterSerializer], responses={200: EmailListOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Messages sent and to be sent, newest first; `status=failed` lists those the server never took."""
        filters = query_validate(self.EmailListFilterSerializer, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(email_list(**filters), request, view=self)
        return paginator.get_paginated_response(self.EmailListOutputSerializer(cast(Any, page), many=True).data)
