"""Projects: list, create, read, update and deactivate (`/api/projects`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date, Flag, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from timesheets.api.common import STAFF_ONLY, MethodRoute, paginated, path_uuid
from timesheets.models import Project
from timesheets.selectors import project_get, project_list
from timesheets.services import ProjectChanges, project_create, project_delete, project_update


class _ProjectOutput(serializers.Serializer[Project]):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    jira_project_key = serializers.CharField()
    active = serializers.BooleanField()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    client = serializers.CharField()
    billable = serializers.BooleanField()
    budget_hours = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    cost_centre = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _WrittenText(Text):
    """Text that arrives as a JSON string, as the schema states (DRF would turn a number into text)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _WrittenDecimal(serializers.DecimalField):
    """A decimal that arrives as a JSON string, as the schema states it."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _ProjectInput(serializers.Serializer[dict[str, Any]]):
    code = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=32,
        error_messages={"invalid": "Letters, digits, '_', '.' and '-' only; starts with a letter or digit."},
    )
    name = Text(max_length=200)
    jira_project_key = Text(max_length=32, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    starts_on = Date(required=False, allow_null=True)
    ends_on = Date(required=False, allow_null=True)
    # What the reports group and bill by.
    client = _WrittenText(max_length=200, required=False, allow_blank=True)
    billable = Flag(required=False)
    budget_hours = _WrittenDecimal(
        max_digits=9, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    cost_centre = _WrittenText(max_length=64, required=False, allow_blank=True)


class ProjectListApi(APIView):
    pagination_class = DefaultPagination  # read by paginated and by the OpenAPI schema

    class ProjectListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        active = serializers.BooleanField(required=False)
        code = Text(max_length=32, required=False)

    class ProjectListOutputSerializer(_ProjectOutput):
        pass

    @extend_schema(parameters=[ProjectListFilterSerializer], responses={200: ProjectListOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Projects, by code; every user of the tenant may read them."""
        projects = project_list(**query_validate(self.ProjectListFilterSerializer, request))
        return paginated(
            request=request, view=self, queryset=projects, serializer_class=self.ProjectListOutputSerializer
        )


class ProjectCreateApi(APIView):
    permission_classes = STAFF_ONLY

    class ProjectCreateInputSerializer(_ProjectInput):
        pass

    class ProjectCreateOutputSerializer(_ProjectOutput):
        pass

    @extend_schema(request=ProjectCreateInputSerializer, responses={201: ProjectCreateOutputSerializer})
    def post(self, request: Request) -> Response:
        """Create a project (HR/Admin); a duplicate code is a 400 naming the field."""
        data = self.ProjectCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_create(actor=request.user, **data.validated_data)
        return Response(self.ProjectCreateOutputSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    class ProjectDetailOutputSerializer(_ProjectOutput):
        pass

    @extend_schema(responses={200: ProjectDetailOutputSerializer})
    def get(self, request: Request, project_id: str) -> Response:
        """One project."""
        project = project_get(project_id=path_uuid(project_id))
        return Response(self.ProjectDetailOutputSerializer(project).data)


class ProjectUpdateApi(APIView):
    permission_classes = STAFF_ONLY

    class ProjectUpdateInputSerializer(_ProjectInput):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.required = False

    class ProjectUpdateOutputSerializer(_ProjectOutput):
        pass

    @extend_schema(request=ProjectUpdateInputSerializer, responses={200: ProjectUpdateOutputSerializer})
    def patch(self, request: Request, project_id: str) -> Response:
        """Change some fields of a project (HR/Admin)."""
        project = project_get(project_id=path_uuid(project_id))
        data = self.ProjectUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        project = project_update(
            actor=request.user, project=project, data=cast(ProjectChanges, dict(data.validated_data))
        )
        return Response(self.ProjectUpdateOutputSerializer(project).data)


class ProjectDeleteApi(APIView):
    permission_classes = STAFF_ONLY

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        """Deactivates the project (soft delete: allocations keep pointing at it)."""
        project_delete(actor=request.user, project=project_get(project_id=path_uuid(project_id)))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectCollectionRoute(MethodRoute, ProjectListApi, ProjectCreateApi):
    """`GET/POST /api/projects`."""


class ProjectItemRoute(MethodRoute, ProjectDetailApi, ProjectUpdateApi, ProjectDeleteApi):
    """`GET/PATCH/DELETE /api/projects/{id}`."""
