"""REST API of the timesheet records: employees, projects, attendance, work patterns, suggestion review, allocations.

One APIView per operation. Where the contract puts several operations on one path (`GET/POST /api/employees`),
a route class combines them and each HTTP method keeps the permissions of the operation that defines it.
Reads are open to every user of the tenant and scoped by the selectors (HR/Admin see everything, anyone
else only their own employee record's data); writes need HR or Admin, except reviewing one's own suggestions.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django_tenants.utils import schema_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.fields import Date, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.ratelimits import MlRateLimited
from core.replica import reads_from_replica
from core.roles import IsHROrAdmin, is_staff_user
from core.schema import current_schema
from core.spreadsheet import spreadsheet_cell
from tenants.cache import tenant_cache_get_fresh, tenant_cache_set_fresh
from timesheets.models import Employee, Project
from timesheets.selectors import (
    ALLOCATION_EXPORT_COLUMNS,
    allocation_export_rows,
    allocation_list,
    attendance_list,
    employee_get,
    employee_list,
    project_get,
    project_list,
    suggestion_pending_list,
    tenant_today,
    tenant_zone,
    uuid_or_none,
    work_pattern_list,
)
from timesheets.services import (
    MAX_ALLOCATION_ROWS,
    MAX_ATTENDANCE_ROWS,
    MAX_DECISION_IDS,
    SUGGESTIONS_CACHE_NAMESPACE,
    AllocationRow,
    AttendanceRow,
    DecisionItem,
    DecisionResult,
    RowErrors,
    allocation_rows_check,
    allocations_upsert,
    attendance_rows_check,
    attendance_upsert,
    employee_create,
    employee_delete,
    employee_update,
    project_create,
    project_delete,
    project_update,
    suggestions_accept,
    suggestions_reject,
)

STAFF_ONLY = [IsAuthenticated, IsHROrAdmin]
# A cached pending page is fresh this long; past it, one request rebuilds it (tenant_cache_get_fresh).
PENDING_CACHE_SECONDS = 120

# Plumbing ----------------------------------------------------------------------------------------------------


class _MethodRoute(APIView):
    """Serves the single-operation views it inherits from on one path; each method keeps its own permissions."""

    def get_permissions(self) -> Sequence[Any]:
        method = (self.request.method or "").lower()
        method = "get" if method == "head" else method
        for klass in type(self).__mro__[1:]:
            if klass is not _MethodRoute and method in vars(klass):
                return [permission() for permission in klass.permission_classes]  # type: ignore[attr-defined]
        return super().get_permissions()


def _path_uuid(value: str, name: str = "id") -> uuid.UUID:
    """A malformed id in the path is bad input (400), not an unknown object."""
    parsed = uuid_or_none(value)
    if parsed is None:
        raise ValidationFailed("Invalid input.", fields={name: ["Must be a valid UUID."]})
    return parsed


def _paginated(
    *,
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.Serializer[Any]],
    context: dict[str, Any] | None = None,
) -> Response:
    paginator = (getattr(view, "pagination_class", None) or DefaultPagination)()
    page = paginator.paginate_queryset(queryset, request, view=view) or []
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)


def _row_list(request: Request, *, max_rows: int) -> list[Any]:
    body = request.data
    if not isinstance(body, list):
        raise ValidationFailed("Invalid input.", fields={"rows": ["Expected a JSON list of rows."]})
    if not body:
        raise ValidationFailed("Invalid input.", fields={"rows": ["Send at least one row."]})
    if len(body) > max_rows:
        raise ValidationFailed("Invalid input.", fields={"rows": [f"At most {max_rows} rows per request."]})
    return body


def _rows_validate(
    body: list[Any], serializer_class: type[serializers.Serializer[Any]]
) -> tuple[list[tuple[int, dict[str, Any]]], RowErrors]:
    """Shape-check every row; errors are keyed by the row's index as a string, then by field."""
    valid: list[tuple[int, dict[str, Any]]] = []
    errors: RowErrors = {}
    for index, raw in enumerate(body):
        row = serializer_class(data=raw)
        if row.is_valid():
            valid.append((index, dict(row.validated_data)))
        else:
            errors[str(index)] = {name: [str(message) for message in messages] for name, messages in row.errors.items()}
    return valid, errors


def _rows_fail(shape_errors: RowErrors, rule_errors: RowErrors) -> None:
    merged: RowErrors = {}
    for errors in (shape_errors, rule_errors):
        for index, fields in errors.items():
            for name, messages in fields.items():
                merged.setdefault(index, {}).setdefault(name, []).extend(messages)
    ordered = dict(sorted(merged.items(), key=lambda item: int(item[0])))
    raise ValidationFailed("Some rows are invalid; nothing was written.", fields={"rows": ordered})


class _PeriodFilter(serializers.Serializer[dict[str, Any]]):
    date_from = Date(required=False)
    date_to = Date(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs


# Employees ---------------------------------------------------------------------------------------------------


class _EmployeeOutput(serializers.Serializer[Employee]):
    """An employee; national_id, bank_account and salary are null unless the reader is HR or Admin.

    Masking is null rather than a placeholder so the field types stay the same and a masked response does not
    even reveal whether a value exists. The ciphertext is not decrypted at all for such readers.
    """

    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()
    jira_account_id = serializers.CharField()
    active = serializers.BooleanField()
    weekly_hours = serializers.DecimalField(max_digits=4, decimal_places=1)
    user = serializers.IntegerField(source="user_id", allow_null=True)
    national_id = serializers.SerializerMethodField()
    bank_account = serializers.SerializerMethodField()
    salary = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _show_pii(self) -> bool:
        return bool(self.context.get("show_pii"))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_national_id(self, employee: Employee) -> str | None:
        return employee.national_id if self._show_pii() else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_bank_account(self, employee: Employee) -> str | None:
        return employee.bank_account if self._show_pii() else None

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_salary(self, employee: Employee) -> str | None:
        salary = employee.salary if self._show_pii() else None
        return None if salary is None else str(Decimal(salary).quantize(Decimal("0.01")))


def _employee_context(request: Request) -> dict[str, Any]:
    return {"show_pii": is_staff_user(request.user)}


class _EmployeeInput(serializers.Serializer[dict[str, Any]]):
    name = Text(max_length=200)
    email = serializers.EmailField(max_length=254)
    jira_account_id = Text(max_length=128, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    weekly_hours = serializers.DecimalField(
        max_digits=4, decimal_places=1, min_value=Decimal(0), max_value=Decimal(168), required=False
    )
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    national_id = Text(max_length=64, allow_null=True, allow_blank=True, required=False)
    bank_account = Text(max_length=64, allow_null=True, allow_blank=True, required=False)
    salary = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), allow_null=True, required=False
    )


class EmployeeListApi(APIView):
    pagination_class = DefaultPagination  # read by _paginated and by the OpenAPI schema

    class EmployeeListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        email = Text(max_length=254, required=False)
        active = serializers.BooleanField(required=False)

    class EmployeeListOutputSerializer(_EmployeeOutput):
        pass

    @extend_schema(parameters=[EmployeeListFilterSerializer], responses={200: EmployeeListOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Employees, by name (the Employee role: only their own record). `?email=` is an exact match."""
        filters = query_validate(self.EmployeeListFilterSerializer, request)
        employees = employee_list(user=request.user, **filters)
        return _paginated(
            request=request,
            view=self,
            queryset=employees,
            serializer_class=self.EmployeeListOutputSerializer,
            context=_employee_context(request),
        )


class EmployeeCreateApi(APIView):
    permission_classes = STAFF_ONLY

    class EmployeeCreateInputSerializer(_EmployeeInput):
        pass

    class EmployeeCreateOutputSerializer(_EmployeeOutput):
        pass

    @extend_schema(request=EmployeeCreateInputSerializer, responses={201: EmployeeCreateOutputSerializer})
    def post(self, request: Request) -> Response:
        """Create an employee (HR/Admin). A duplicate email or national id is a 400 naming the field."""
        data = self.EmployeeCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        employee = employee_create(actor=request.user, **data.validated_data)
        output = self.EmployeeCreateOutputSerializer(employee, context=_employee_context(request))
        return Response(output.data, status=status.HTTP_201_CREATED)


class EmployeeDetailApi(APIView):
    class EmployeeDetailOutputSerializer(_EmployeeOutput):
        pass

    @extend_schema(responses={200: EmployeeDetailOutputSerializer})
    def get(self, request: Request, employee_id: str) -> Response:
        """One employee; PII is null unless the reader is HR or Admin."""
        employee = employee_get(employee_id=_path_uuid(employee_id), user=request.user)
        return Response(self.EmployeeDetailOutputSerializer(employee, context=_employee_context(request)).data)


class EmployeeUpdateApi(APIView):
    permission_classes = STAFF_ONLY

    class EmployeeUpdateInputSerializer(_EmployeeInput):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.required = False

    class EmployeeUpdateOutputSerializer(_EmployeeOutput):
        pass

    @extend_schema(request=EmployeeUpdateInputSerializer, responses={200: EmployeeUpdateOutputSerializer})
    def patch(self, request: Request, employee_id: str) -> Response:
        """Change some fields of an employee (HR/Admin); send null to clear national_id, bank_account or salary."""
        employee = employee_get(employee_id=_path_uuid(employee_id), user=request.user)
        data = self.EmployeeUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        employee = employee_update(actor=request.user, employee=employee, data=dict(data.validated_data))
        return Response(self.EmployeeUpdateOutputSerializer(employee, context=_employee_context(request)).data)


class EmployeeDeleteApi(APIView):
    permission_classes = STAFF_ONLY

    @extend_schema(responses={204: None})
    def delete(self, request: Request, employee_id: str) -> Response:
        """Deactivates the employee (soft delete; their records stay). Repeating it answers 204 again."""
        employee = employee_get(employee_id=_path_uuid(employee_id), user=request.user)
        employee_delete(actor=request.user, employee=employee)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmployeeCollectionRoute(_MethodRoute, EmployeeListApi, EmployeeCreateApi):
    """`GET/POST /api/employees`."""


class EmployeeItemRoute(_MethodRoute, EmployeeDetailApi, EmployeeUpdateApi, EmployeeDeleteApi):
    """`GET/PATCH/DELETE /api/employees/{id}`."""


# Projects ----------------------------------------------------------------------------------------------------


class _ProjectOutput(serializers.Serializer[Project]):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    jira_project_key = serializers.CharField()
    active = serializers.BooleanField()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


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


class ProjectListApi(APIView):
    pagination_class = DefaultPagination  # read by _paginated and by the OpenAPI schema

    class ProjectListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        active = serializers.BooleanField(required=False)
        code = Text(max_length=32, required=False)

    class ProjectListOutputSerializer(_ProjectOutput):
        pass

    @extend_schema(parameters=[ProjectListFilterSerializer], responses={200: ProjectListOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Projects, by code; every user of the tenant may read them."""
        projects = project_list(**query_validate(self.ProjectListFilterSerializer, request))
        return _paginated(
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
        project = project_get(project_id=_path_uuid(project_id))
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
        project = project_get(project_id=_path_uuid(project_id))
        data = self.ProjectUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        project = project_update(actor=request.user, project=project, data=dict(data.validated_data))
        return Response(self.ProjectUpdateOutputSerializer(project).data)


class ProjectDeleteApi(APIView):
    permission_classes = STAFF_ONLY

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        """Deactivates the project (soft delete: allocations keep pointing at it)."""
        project_delete(actor=request.user, project=project_get(project_id=_path_uuid(project_id)))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectCollectionRoute(_MethodRoute, ProjectListApi, ProjectCreateApi):
    """`GET/POST /api/projects`."""


class ProjectItemRoute(_MethodRoute, ProjectDetailApi, ProjectUpdateApi, ProjectDeleteApi):
    """`GET/PATCH/DELETE /api/projects/{id}`."""


# Attendance --------------------------------------------------------------------------------------------------


class AttendanceListApi(APIView):
    pagination_class = DefaultPagination  # read by _paginated and by the OpenAPI schema

    class AttendanceListFilterSerializer(_PeriodFilter):
        employee = serializers.UUIDField(required=False)

    class AttendanceListOutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        employee = serializers.UUIDField(source="employee_id")
        date = serializers.DateField()
        check_in = serializers.DateTimeField()
        check_out = serializers.DateTimeField()
        break_minutes = serializers.IntegerField()
        worked_hours = serializers.DecimalField(max_digits=5, decimal_places=2)

    @extend_schema(
        parameters=[AttendanceListFilterSerializer], responses={200: AttendanceListOutputSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        """Attendance records; times are shown in the tenant's time zone."""
        filters = query_validate(self.AttendanceListFilterSerializer, request)
        records = attendance_list(
            user=request.user,
            employee_id=filters.get("employee"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        with timezone.override(tenant_zone()):
            return _paginated(
                request=request, view=self, queryset=records, serializer_class=self.AttendanceListOutputSerializer
            )


class AttendanceImportApi(APIView):
    permission_classes = STAFF_ONLY

    class AttendanceImportInputSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        date = Date(required=False, allow_null=True)
        check_in = serializers.DateTimeField()
        check_out = serializers.DateTimeField()
        break_minutes = serializers.IntegerField(min_value=0, max_value=1440, required=False, default=0)

    class AttendanceImportOutputSerializer(serializers.Serializer[dict[str, int]]):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()

    @extend_schema(
        request=AttendanceImportInputSerializer(many=True), responses={200: AttendanceImportOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Upsert attendance (one record per employee and day) from a list of rows.

        Naive check_in/check_out are wall-clock times in the tenant's time zone. `date` may be left out; when
        sent it must be check_in's local date. Any bad row → 400 naming each row index and field; nothing is
        written.
        """
        body = _row_list(request, max_rows=MAX_ATTENDANCE_ROWS)
        with timezone.override(tenant_zone()):
            valid, shape_errors = _rows_validate(body, self.AttendanceImportInputSerializer)
        rows = [
            AttendanceRow(
                index=index,
                employee_id=data["employee"],
                check_in=data["check_in"],
                check_out=data["check_out"],
                break_minutes=data["break_minutes"],
                date=data.get("date"),
            )
            for index, data in valid
        ]
        if shape_errors:
            _rows_fail(shape_errors, attendance_rows_check(rows=rows))
        result = attendance_upsert(actor=request.user, rows=rows)
        output = self.AttendanceImportOutputSerializer({"created": result.created, "updated": result.updated})
        return Response(output.data)


class AttendanceRoute(_MethodRoute, AttendanceListApi, AttendanceImportApi):
    """`GET/POST /api/attendance`."""


# Work patterns -----------------------------------------------------------------------------------------------


class WorkPatternListApi(APIView):
    pagination_class = DefaultPagination  # read by _paginated and by the OpenAPI schema

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
        return _paginated(
            request=request, view=self, queryset=patterns, serializer_class=self.WorkPatternListOutputSerializer
        )


# Suggestion review -------------------------------------------------------------------------------------------


class SuggestionPendingListApi(MlRateLimited, APIView):
    pagination_class = DefaultPagination  # read by _paginated and by the OpenAPI schema

    class SuggestionPendingFilterSerializer(_PeriodFilter):
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
        response = _paginated(
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


# Allocations -------------------------------------------------------------------------------------------------


class _FormatQueryIgnored(DefaultContentNegotiation):
    """`?format=csv` is this API's own parameter, not DRF's renderer override."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]  # the one setting it reads


class _EchoBuffer:
    def write(self, value: str) -> str:
        return value


def _csv_stream(allocations: QuerySet[Any], schema_name: str) -> Iterator[str]:
    writer = csv.writer(_EchoBuffer())
    yield writer.writerow(ALLOCATION_EXPORT_COLUMNS)
    # The body is produced after the view returned: pin the schema instead of trusting the connection's state.
    with schema_context(schema_name):
        for row in allocation_export_rows(allocations=allocations):
            yield writer.writerow([spreadsheet_cell(value) for value in row])


class AllocationListApi(APIView):
    pagination_class = DefaultPagination  # read by _paginated and by the OpenAPI schema

    content_negotiation_class = _FormatQueryIgnored

    class AllocationListFilterSerializer(_PeriodFilter):
        employee = serializers.UUIDField(required=False)
        project = serializers.UUIDField(required=False)
        format = serializers.ChoiceField(choices=["json", "csv"], required=False)

    class AllocationListOutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        employee = serializers.UUIDField(source="employee_id")
        employee_name = serializers.CharField()
        project = serializers.UUIDField(source="project_id")
        project_code = serializers.CharField()
        date = serializers.DateField()
        hours = serializers.DecimalField(max_digits=5, decimal_places=2)
        suggestion = serializers.UUIDField(source="suggestion_id", allow_null=True)
        suggestion_accepted = serializers.BooleanField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[AllocationListFilterSerializer],
        responses={
            (200, "application/json"): AllocationListOutputSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    @reads_from_replica
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        """Accepted allocations as a JSON page; `?format=csv` streams every matching row as `text/csv` instead.

        The CSV has no pagination: its columns are date, employee_id, employee_name, project_code, hours and
        source, and it arrives as an attachment named allocations.csv.
        """
        filters = query_validate(self.AllocationListFilterSerializer, request)
        allocations = allocation_list(
            user=request.user,
            employee_id=filters.get("employee"),
            project_id=filters.get("project"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        if filters.get("format") == "csv":
            response = StreamingHttpResponse(
                _csv_stream(allocations, current_schema()), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="allocations.csv"'
            return response
        return _paginated(
            request=request, view=self, queryset=allocations, serializer_class=self.AllocationListOutputSerializer
        )


class AllocationImportApi(APIView):
    permission_classes = STAFF_ONLY

    class AllocationImportInputSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        project = serializers.UUIDField()
        date = Date()
        hours = serializers.DecimalField(max_digits=5, decimal_places=2)

    class AllocationImportOutputSerializer(serializers.Serializer[dict[str, int]]):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()

    @extend_schema(
        request=AllocationImportInputSerializer(many=True), responses={200: AllocationImportOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Manual entries or a historical import: upsert per employee, project and date; a bad row writes nothing."""
        body = _row_list(request, max_rows=MAX_ALLOCATION_ROWS)
        valid, shape_errors = _rows_validate(body, self.AllocationImportInputSerializer)
        rows = [
            AllocationRow(
                index=index,
                employee_id=data["employee"],
                project_id=data["project"],
                date=data["date"],
                hours=data["hours"],
            )
            for index, data in valid
        ]
        if shape_errors:
            _rows_fail(shape_errors, allocation_rows_check(rows=rows))
        result = allocations_upsert(actor=request.user, rows=rows)
        output = self.AllocationImportOutputSerializer({"created": result.created, "updated": result.updated})
        return Response(output.data)


class AllocationRoute(_MethodRoute, AllocationListApi, AllocationImportApi):
    """`GET/POST /api/allocations`."""
