"""Employees: list, create, read, update and deactivate (`/api/employees`)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.links import tenant_link_base
from core.fields import Date, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.roles import ROLE_EMPLOYEE, ROLE_MANAGER, is_staff_user
from timesheets.api.common import STAFF_ONLY, MethodRoute, paginated, path_uuid
from timesheets.models import Employee
from timesheets.selectors import employee_get, employee_list
from timesheets.services import EmployeeChanges, employee_create, employee_delete, employee_update, employees_invite


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
    start_date = serializers.DateField(allow_null=True)
    user = serializers.IntegerField(source="user_id", allow_null=True)
    manager = serializers.UUIDField(source="manager_id", allow_null=True)
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


class _WrittenDecimal(serializers.DecimalField):
    """A decimal that arrives as a JSON string, as the schema states it (DRF would take a JSON number too)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


_CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class _EmployeeRef(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """An employee id in the canonical form the schema states (Python's UUID parser takes braces, URNs...)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not _CANONICAL_UUID.fullmatch(data):
            raise serializers.ValidationError("Must be an employee id (a UUID).")
        return super().to_internal_value(data)


class _EmployeeInput(serializers.Serializer[dict[str, Any]]):
    name = Text(max_length=200)
    email = serializers.EmailField(max_length=254)
    jira_account_id = Text(max_length=128, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    weekly_hours = _WrittenDecimal(
        max_digits=4, decimal_places=1, min_value=Decimal(0), max_value=Decimal(168), required=False
    )
    start_date = Date(
        allow_null=True,
        required=False,
        help_text="The first day of employment; no contract term may start before it.",
    )
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    manager = _EmployeeRef(
        queryset=Employee.objects.all(),
        allow_null=True,
        required=False,
        help_text="The employee record of this employee's manager (a login with the Manager role sees their team).",
    )
    national_id = Text(max_length=64, allow_null=True, allow_blank=True, required=False)
    bank_account = Text(max_length=64, allow_null=True, allow_blank=True, required=False)
    salary = _WrittenDecimal(max_digits=12, decimal_places=2, min_value=Decimal(0), allow_null=True, required=False)


class EmployeeListApi(APIView):
    pagination_class = DefaultPagination  # read by paginated and by the OpenAPI schema

    class EmployeeListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        email = Text(max_length=254, required=False)
        active = serializers.BooleanField(required=False)
        search = Text(max_length=100, required=False, help_text="Part of the name, or the start of the e-mail address.")

    class EmployeeListOutputSerializer(_EmployeeOutput):
        pass

    @extend_schema(parameters=[EmployeeListFilterSerializer], responses={200: EmployeeListOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Employees, by name (the Employee role: only their own record). `?email=` is an exact match.

        `?search=` is what a people picker sends as someone types: part of a name or the start of an e-mail.
        """
        filters = query_validate(self.EmployeeListFilterSerializer, request)
        employees = employee_list(user=request.user, **filters)
        return paginated(
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
        employee = employee_get(employee_id=path_uuid(employee_id), user=request.user)
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
        employee = employee_get(employee_id=path_uuid(employee_id), user=request.user)
        data = self.EmployeeUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        employee = employee_update(
            actor=request.user, employee=employee, data=cast(EmployeeChanges, dict(data.validated_data))
        )
        return Response(self.EmployeeUpdateOutputSerializer(employee, context=_employee_context(request)).data)


class EmployeeDeleteApi(APIView):
    permission_classes = STAFF_ONLY

    @extend_schema(responses={204: None})
    def delete(self, request: Request, employee_id: str) -> Response:
        """Deactivates the employee (soft delete; their records stay). Repeating it answers 204 again."""
        employee = employee_get(employee_id=path_uuid(employee_id), user=request.user)
        employee_delete(actor=request.user, employee=employee)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmployeeCollectionRoute(MethodRoute, EmployeeListApi, EmployeeCreateApi):
    """`GET/POST /api/employees`."""


class EmployeeItemRoute(MethodRoute, EmployeeDetailApi, EmployeeUpdateApi, EmployeeDeleteApi):
    """`GET/PATCH/DELETE /api/employees/{id}`."""


class EmployeeInviteApi(APIView):
    permission_classes = STAFF_ONLY

    class EmployeeInviteInputSerializer(serializers.Serializer[dict[str, Any]]):
        role = serializers.ChoiceField(choices=[ROLE_EMPLOYEE, ROLE_MANAGER], required=False)

    class EmployeeInviteOutputSerializer(serializers.Serializer[dict[str, Any]]):
        invited = serializers.IntegerField()
        skipped = serializers.IntegerField()

    @extend_schema(request=EmployeeInviteInputSerializer, responses={201: EmployeeInviteOutputSerializer})
    def post(self, request: Request) -> Response:
        """Invite every active employee without a login (and without an open invitation) to get one, by e-mail;
        each login is linked to its employee record when the invitation is accepted. Role: Employee unless
        given."""
        data = self.EmployeeInviteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = employees_invite(
            actor=request.user,
            link_base=tenant_link_base(request),
            role=data.validated_data.get("role", ROLE_EMPLOYEE),
        )
        body = {"invited": result.invited, "skipped": result.skipped}
        return Response(self.EmployeeInviteOutputSerializer(body).data, status=status.HTTP_201_CREATED)
