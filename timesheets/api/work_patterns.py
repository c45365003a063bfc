"""Learned work patterns: the read-only list (`/api/work-patterns`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import DefaultPagination
from core.query import query_validate
from timesheets.api.common import paginated
from timesheets.selectors import work_pattern_list


class WorkPatternListApi(APIView):
    pagination_class = DefaultPagination  # read by paginated and by the OpenAPI schema

    class WorkPatternListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField(required=False)
        project = serializers.UUIDField(required=False)
        day_of_week = serializers.IntegerField(min_value=0, max_value=6, required=False)
        is_active = serializers.BooleanField(required=False)

    class WorkPatternListOutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        employee = serializers.UUIDField(source="employee_id")
        project = serializers.UUIDField(source="project_id")
        project_code = serializers.CharField()
        day_of_week = serializers.IntegerField(help_text="Monday = 0 … Sunday = 6")
        average_hours = serializers.DecimalField(max_digits=5, decimal_places=2)
        occurrences = serializers.IntegerField()
        weeks_observed = serializers.IntegerField()
        last_occurrence = serializers.DateField()
        is_active = serializers.BooleanField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[WorkPatternListFilterSerializer], responses={200: WorkPatternListOutputSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        """Learned patterns: mean allocated hours per employee, project and weekday (Monday = 0)."""
        filters = query_validate(self.WorkPatternListFilterSerializer, request)
        patterns = work_pattern_list(
            user=request.user,
            employee_id=filters.get("employee"),
            project_id=filters.get("project"),
            day_of_week=filters.get("day_of_week"),
            is_active=filters.get("is_active"),
        )
        return paginated(
            request=request, view=self, queryset=patterns, serializer_class=self.WorkPatternListOutputSerializer
        )
