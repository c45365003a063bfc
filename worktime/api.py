"""Working-time API: calendar and holidays, leave, entitlements, contracts, expected hours, compliance."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.fields import Date, Flag, Slug, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.roles import IsHROrAdmin, IsReviewer, is_staff_user
from timesheets.api.common import paginated
from timesheets.models import Employee
from timesheets.selectors import employee_for_user, employee_get, visible_employee_ids
from worktime import services
from worktime.models import ComplianceViolation, Contract, LeavePortion, LeaveRecord, LeaveStatus, LeaveType
from worktime.rules import PRESETS, RULES
from worktime.selectors import (
    calendar_get,
    contract_list,
    entitlements_of,
    flexitime_balance,
    holidays_list,
    leave_days_taken,
    leave_list,
    leave_types,
    rules_get,
    violation_list,
)

MAX_RANGE_DAYS = 366
MAX_CSV_BYTES = 5 * 1024 * 1024


def _range_check(attrs: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    start, end = attrs.get("date_from"), attrs.get("date_to")
    if required and (start is None or end is None):
        raise serializers.ValidationError({"date_from": ["date_from and date_to are both required."]})
    if start is not None and end is not None:
        if end < start:
            raise serializers.ValidationError({"date_to": ["Must be on or after date_from."]})
        if (end - start).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError({"date_to": [f"At most {MAX_RANGE_DAYS} days from date_from."]})
    return attrs


def _employee_ref(request: Request, employee_id: uuid.UUID) -> Employee:
    """The employee a request names, as a field error when it is not one the caller may see (like every reference)."""
    try:
        return employee_get(employee_id=employee_id, user=request.user)
    except NotFound as error:
        raise ValidationFailed("No such employee.", fields={"employee": ["No such employee."]}) from error


def _own_employee_ids(request: Request, wanted: uuid.UUID | None) -> list[uuid.UUID] | None:
    """HR and Admin: the employee asked for (or everyone); a Manager: their own record and their team's; anyone
    else: their own record only."""
    if is_staff_user(request.user):
        return None if wanted is None else [wanted]
    visible = visible_employee_ids(request.user) or set()
    if wanted is not None:
        return [wanted] if wanted in visible else []
    return sorted(visible)


# Calendar ---------------------------------------------------------------------------------------------------------


class CalendarApi(APIView):
    permission_classes = [IsHROrAdmin]

    class CalendarSerializer(serializers.Serializer[dict[str, Any]]):
        country = Text(max_length=2, allow_blank=True)
        subdivision = Text(max_length=10, allow_blank=True, required=False, default="")

    @extend_schema(responses={200: CalendarSerializer})
    def get(self, request: Request) -> Response:
        calendar = calendar_get()
        return Response({"country": calendar.country, "subdivision": calendar.subdivision})

    @extend_schema(request=CalendarSerializer, responses={200: CalendarSerializer})
    def put(self, request: Request) -> Response:
        data = self.CalendarSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        calendar = services.calendar_save(
            actor=request.user, country=data.validated_data["country"], subdivision=data.validated_data["subdivision"]
        )
        return Response({"country": calendar.country, "subdivision": calendar.subdivision})


class HolidayListApi(APIView):
    permission_classes = [IsAuthenticated]

    class HolidayFilterSerializer(serializers.Serializer[dict[str, Any]]):
        year = serializers.IntegerField(min_value=2000, max_value=2099)

    class HolidayOutputSerializer(serializers.Serializer[Any]):
        date = serializers.DateField()
        name = serializers.CharField()
        kind = serializers.ChoiceField(choices=["public", "company"])
        half_day = serializers.BooleanField()

    @extend_schema(parameters=[HolidayFilterSerializer], responses={200: HolidayOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        year = query_validate(self.HolidayFilterSerializer, request)["year"]
        found = holidays_list(date_from=date(year, 1, 1), date_to=date(year, 12, 31))
        return Response(self.HolidayOutputSerializer(found, many=True).data)


class DayOffSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    date = Date()
    name = Text(max_length=120)
    half_day = Flag(default=False)


class DayOffCreateApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(request=DayOffSerializer, responses={201: DayOffSerializer})
    def post(self, request: Request) -> Response:
        data = DayOffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        off = services.day_off_add(
            actor=request.user, day=values["date"], name=values["name"], half_day=values["half_day"]
        )
        return Response(DayOffSerializer(off).data, status=201)


# Leave ------------------------------------------------------------------------------------------------------------


class LeaveTypeSerializer(serializers.Serializer[Any]):
    code = Slug(max_length=32)
    name = Text(max_length=120)
    paid = Flag(default=True)
    requires_approval = Flag(default=True)
    uses_entitlement = Flag(default=False)
    active = serializers.BooleanField(read_only=True)


class LeaveTypeApi(APIView):
    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "GET" else [IsHROrAdmin()]

    @extend_schema(responses={200: LeaveTypeSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(LeaveTypeSerializer(leave_types(), many=True).data)

    @extend_schema(request=LeaveTypeSerializer, responses={201: LeaveTypeSerializer})
    def post(self, request: Request) -> Response:
        data = LeaveTypeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        created = services.leave_type_create(
            actor=request.user,
            code=values["code"],
            name=values["name"],
            paid=values["paid"],
            requires_approval=values["requires_approval"],
            uses_entitlement=values["uses_entitlement"],
        )
        return Response(LeaveTypeSerializer(created).data, status=201)


class LeaveOutputSerializer(serializers.ModelSerializer[LeaveRecord]):
    employee_name = serializers.CharField(source="employee.name", read_only=True)
    leave_type = serializers.CharField(source="leave_type.code", read_only=True)

    class Meta:
        model = LeaveRecord
        fields = [
            "id",
            "employee",
            "employee_name",
            "leave_type",
            "start_date",
            "end_date",
            "portion",
            "hours",
            "status",
            "note",
            "decided_at",
            "decision_comment",
            "created_at",
        ]


class LeaveInputSerializer(serializers.Serializer[dict[str, Any]]):
    employee = serializers.UUIDField(required=False)
    leave_type = Slug(max_length=32)
    start_date = Date()
    end_date = Date()
    portion = serializers.ChoiceField(choices=LeavePortion.choices, default=LeavePortion.FULL_DAY)
    hours = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    note = Text(max_length=500, required=False, default="", allow_blank=True)

    def validate_leave_type(self, value: str) -> LeaveType:
        found = LeaveType.objects.filter(code=value).first()
        if found is None:
            raise serializers.ValidationError("No leave type with this code.")
        return found


def _leave_input(values: dict[str, Any], employee_id: uuid.UUID, index: int | None = None) -> services.LeaveInput:
    return services.LeaveInput(
        employee_id=employee_id,
        leave_type=values["leave_type"],
        start_date=values["start_date"],
        end_date=values["end_date"],
        portion=values["portion"],
        hours=values.get("hours"),
        note=values.get("note", ""),
        index=index,
    )


class LeaveListCreateApi(APIView):
    """HR and Admin record leave for anyone (approved at once); an employee requests leave for themselves."""

    permission_classes = [IsAuthenticated]
    pagination_class = DefaultPagination

    class LeaveFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField(required=False)
        date_from = Date(required=False)
        date_to = Date(required=False)
        status = serializers.ChoiceField(choices=LeaveStatus.choices, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return _range_check(attrs)

    @extend_schema(parameters=[LeaveFilterSerializer], responses={200: LeaveOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        values = query_validate(self.LeaveFilterSerializer, request)
        rows = leave_list(
            employee_ids=_own_employee_ids(request, values.get("employee")),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
            status=values.get("status"),
        )
        return paginated(request=request, view=self, queryset=rows, serializer_class=LeaveOutputSerializer)

    @extend_schema(request=LeaveInputSerializer, responses={201: LeaveOutputSerializer})
    def post(self, request: Request) -> Response:
        data = LeaveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        staff = is_staff_user(request.user)
        if staff:
            if values.get("employee") is None:
                raise serializers.ValidationError({"employee": ["Which employee the leave is for."]})
            employee_id = _employee_ref(request, values["employee"]).id
        else:
            own = employee_for_user(user=request.user)
            if own is None or values.get("employee") not in (None, own.id):
                raise PermissionDenied("You can request leave for yourself only.")
            employee_id = own.id
        record = services.leave_create(
            actor=request.user, entry=_leave_input(values, employee_id), as_request=not staff
        )
        return Response(LeaveOutputSerializer(record).data, status=201)


class CsvRowsParser(BaseParser):
    """A CSV body with a header line, read as a list of objects keyed by the header (empty cells left out)."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            text = stream.read(MAX_CSV_BYTES + 1).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ParseError("The CSV is not UTF-8 text.") from error
        if len(text) > MAX_CSV_BYTES:
            raise ParseError("The CSV is larger than 5 MB.")
        reader = csv.DictReader(io.StringIO(text))
        return [{key: value for key, value in row.items() if key and value not in (None, "")} for row in reader]


class LeaveImportApi(APIView):
    """Leave in bulk as a JSON list or a CSV (employee,leave_type,start_date,end_date,portion,hours,note)."""

    permission_classes = [IsHROrAdmin]
    parser_classes = [JSONParser, CsvRowsParser]

    class LeaveImportOutputSerializer(serializers.Serializer[dict[str, int]]):
        created = serializers.IntegerField()

    @extend_schema(
        request={"application/json": LeaveInputSerializer(many=True), "text/csv": OpenApiTypes.STR},
        responses={201: LeaveImportOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, list) or not 1 <= len(request.data) <= 10_000:
            raise ValidationFailed("Invalid input.", fields={"rows": ["A list (or CSV) of 1 to 10,000 leave entries."]})
        entries = []
        errors: dict[str, Any] = {}
        for index, row in enumerate(request.data):
            data = LeaveInputSerializer(data=row)
            if not data.is_valid():
                errors.setdefault("rows", {})[str(index)] = dict(data.errors)
                continue
            if data.validated_data.get("employee") is None:
                errors.setdefault("rows", {})[str(index)] = {"employee": ["Required."]}
                continue
            entries.append(_leave_input(data.validated_data, data.validated_data["employee"], index))
        if errors:
            raise serializers.ValidationError(errors)
        created = services.leave_import(actor=request.user, entries=entries)
        return Response({"created": created}, status=201)


def _leave_for(request: Request, leave_id: uuid.UUID) -> LeaveRecord:
    record = leave_list(employee_ids=_own_employee_ids(request, None)).filter(pk=leave_id).first()
    if record is None:
        raise NotFound("No such leave.")
    return record


def _decidable(request: Request, employee_id: uuid.UUID) -> bool:
    """HR and Admin decide for everyone; a Manager for their team, never for their own record."""
    team = visible_employee_ids(request.user)
    if team is None:
        return True
    own = employee_for_user(user=request.user)
    return employee_id in team and (own is None or own.id != employee_id)


class LeaveDecideApi(APIView):
    permission_classes = [IsReviewer]

    class DecisionSerializer(serializers.Serializer[dict[str, Any]]):
        approve = Flag()
        comment = Text(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(request=DecisionSerializer, responses={200: LeaveOutputSerializer})
    def post(self, request: Request, leave_id: uuid.UUID) -> Response:
        """Approve or reject requested leave (HR, Admin, or the employee's Manager)."""
        found = _leave_for(request, leave_id)
        if not _decidable(request, found.employee_id):
            raise NotFound("No such leave.")
        data = self.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.leave_decide(
            actor=request.user,
            record=found,
            approve=data.validated_data["approve"],
            comment=data.validated_data["comment"],
        )
        return Response(LeaveOutputSerializer(record).data)


class LeaveCancelApi(APIView):
    """The employee withdraws their own leave, or HR cancels anyone's."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: LeaveOutputSerializer})
    def post(self, request: Request, leave_id: uuid.UUID) -> Response:
        record = services.leave_cancel(actor=request.user, record=_leave_for(request, leave_id))
        return Response(LeaveOutputSerializer(record).data)


class LeaveBalanceApi(APIView):
    permission_classes = [IsAuthenticated]

    class BalanceFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        year = serializers.IntegerField(min_value=2000, max_value=2099)

    class BalanceOutputSerializer(serializers.Serializer[Any]):
        leave_type = serializers.CharField()
        entitled = serializers.DecimalField(max_digits=5, decimal_places=1)
        taken = serializers.DecimalField(max_digits=5, decimal_places=1)
        remaining = serializers.DecimalField(max_digits=6, decimal_places=1)

    @extend_schema(parameters=[BalanceFilterSerializer], responses={200: BalanceOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        values = query_validate(self.BalanceFilterSerializer, request)
        employee = _employee_ref(request, values["employee"])
        rows = []
        for entitlement in entitlements_of(employee_id=employee.id, year=values["year"]):
            taken = leave_days_taken(
                employee_id=employee.id, leave_type_id=entitlement.leave_type_id, year=values["year"]
            )
            rows.append(
                {
                    "leave_type": entitlement.leave_type.code,
                    "entitled": entitlement.days,
                    "taken": taken,
                    "remaining": Decimal(entitlement.days) - taken,
                }
            )
        return Response(self.BalanceOutputSerializer(rows, many=True).data)


class EntitlementApi(APIView):
    permission_classes = [IsHROrAdmin]

    class EntitlementSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        leave_type = Slug(max_length=32)
        year = serializers.IntegerField(min_value=2000, max_value=2099)
        days = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=Decimal(0), max_value=Decimal(366))

    @extend_schema(request=EntitlementSerializer, responses={200: EntitlementSerializer})
    def put(self, request: Request) -> Response:
        data = self.EntitlementSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        leave_type = LeaveType.objects.filter(code=values["leave_type"]).first()
        if leave_type is None:
            raise serializers.ValidationError({"leave_type": ["No leave type with this code."]})
        services.entitlement_set(
            actor=request.user,
            employee=_employee_ref(request, values["employee"]),
            leave_type=leave_type,
            year=values["year"],
            days=values["days"],
        )
        return Response(self.EntitlementSerializer(values).data)


# Contracts and expected hours -------------------------------------------------------------------------------------


class ContractSerializer(serializers.ModelSerializer[Contract]):
    starts_on = Date()
    ends_on = Date(required=False, allow_null=True)
    work_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), min_length=1, max_length=7, default=[1, 2, 3, 4, 5]
    )
    weekly_hours = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=Decimal(0))
    daily_hours = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(24),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = Contract
        fields = [
            "id",
            "employee",
            "starts_on",
            "ends_on",
            "weekly_hours",
            "work_days",
            "daily_hours",
            "country",
            "subdivision",
        ]
        read_only_fields = ["id"]


class ContractListCreateApi(APIView):
    permission_classes = [IsHROrAdmin]
    pagination_class = DefaultPagination  # read by the OpenAPI schema as well

    class ContractFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField(required=False)

    @extend_schema(parameters=[ContractFilterSerializer], responses={200: ContractSerializer(many=True)})
    def get(self, request: Request) -> Response:
        values = query_validate(self.ContractFilterSerializer, request)
        return paginated(
            request=request,
            view=self,
            queryset=contract_list(employee_id=values.get("employee")),
            serializer_class=ContractSerializer,
        )

    @extend_schema(request=ContractSerializer, responses={201: ContractSerializer})
    def post(self, request: Request) -> Response:
        data = ContractSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        contract = services.contract_create(
            actor=request.user,
            employee=_employee_ref(request, values["employee"].id),
            terms=services.ContractInput(
                starts_on=values["starts_on"],
                ends_on=values.get("ends_on"),
                weekly_hours=values["weekly_hours"],
                work_days=values["work_days"],
                daily_hours=values.get("daily_hours"),
                country=values.get("country", ""),
                subdivision=values.get("subdivision", ""),
            ),
        )
        return Response(ContractSerializer(contract).data, status=201)


class ExpectedHoursApi(APIView):
    """Day by day: the contract's hours, holidays and leave taken off, what was worked, and the balance."""

    permission_classes = [IsAuthenticated]

    class ExpectedFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        date_from = Date()
        date_to = Date()

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return _range_check(attrs, required=True)

    class DaySerializer(serializers.Serializer[dict[str, Any]]):
        date = serializers.DateField()
        scheduled = serializers.DecimalField(max_digits=6, decimal_places=2)
        holiday = serializers.DecimalField(max_digits=6, decimal_places=2)
        holiday_name = serializers.CharField()
        leave = serializers.DecimalField(max_digits=6, decimal_places=2)
        leave_type = serializers.CharField()
        expected = serializers.DecimalField(max_digits=6, decimal_places=2)
        worked = serializers.DecimalField(max_digits=6, decimal_places=2)
        overtime = serializers.DecimalField(max_digits=6, decimal_places=2)

    class ExpectedOutputSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        expected = serializers.DecimalField(max_digits=8, decimal_places=2)
        worked = serializers.DecimalField(max_digits=8, decimal_places=2)
        leave = serializers.DecimalField(max_digits=8, decimal_places=2)
        overtime = serializers.DecimalField(max_digits=8, decimal_places=2)
        flexitime_opens = serializers.DateField(allow_null=True)
        flexitime_carried_in = serializers.DecimalField(max_digits=9, decimal_places=2)
        flexitime_carried_out = serializers.DecimalField(max_digits=9, decimal_places=2)
        days = serializers.ListField(child=serializers.DictField())

    @extend_schema(parameters=[ExpectedFilterSerializer], responses={200: ExpectedOutputSerializer})
    def get(self, request: Request) -> Response:
        values = query_validate(self.ExpectedFilterSerializer, request)
        employee = _employee_ref(request, values["employee"])
        account = flexitime_balance(employee_id=employee.id, date_from=values["date_from"], date_to=values["date_to"])
        body = {
            "employee": employee.id,
            "expected": account.expected,
            "worked": account.worked,
            "leave": account.leave,
            "overtime": account.overtime,
            "flexitime_opens": account.opens,
            "flexitime_carried_in": account.carried_in,
            "flexitime_carried_out": account.carried_out,
            "days": [self.DaySerializer({**day.__dict__, "overtime": day.overtime}).data for day in account.days],
        }
        return Response(self.ExpectedOutputSerializer(body).data)


# Compliance -------------------------------------------------------------------------------------------------------


class ComplianceRulesApi(APIView):
    permission_classes = [IsHROrAdmin]

    class RulesSerializer(serializers.Serializer[dict[str, Any]]):
        preset = serializers.ChoiceField(choices=sorted(PRESETS))
        thresholds = serializers.DictField(required=False, default=dict)

    class RulesOutputSerializer(serializers.Serializer[dict[str, Any]]):
        preset = serializers.CharField()
        thresholds = serializers.DictField()
        presets = serializers.DictField()

    def _body(self) -> dict[str, Any]:
        preset, thresholds = rules_get()
        return {"preset": preset, "thresholds": thresholds.as_json(), "presets": PRESETS}

    @extend_schema(responses={200: RulesOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(self.RulesOutputSerializer(self._body()).data)

    @extend_schema(request=RulesSerializer, responses={200: RulesOutputSerializer})
    def put(self, request: Request) -> Response:
        data = self.RulesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.rules_save(
                actor=request.user, preset=data.validated_data["preset"], thresholds=data.validated_data["thresholds"]
            )
        except ValidationFailed as error:
            # The thresholds are one object of the request: its problems are reported under its name.
            raise ValidationFailed(error.message, fields={"thresholds": error.fields}) from error
        return Response(self.RulesOutputSerializer(self._body()).data)


class ComplianceCheckApi(APIView):
    permission_classes = [IsHROrAdmin]

    class CheckSerializer(serializers.Serializer[dict[str, Any]]):
        date_from = Date()
        date_to = Date()

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return _range_check(attrs, required=True)

    class CheckOutputSerializer(serializers.Serializer[dict[str, Any]]):
        date_from = serializers.DateField()
        date_to = serializers.DateField()
        violations = serializers.IntegerField()
        by_rule = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(request=CheckSerializer, responses={200: CheckOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.CheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.compliance_check(
            actor=request.user, date_from=data.validated_data["date_from"], date_to=data.validated_data["date_to"]
        )
        return Response(self.CheckOutputSerializer(run.__dict__).data)


class ViolationOutputSerializer(serializers.ModelSerializer[ComplianceViolation]):
    employee_name = serializers.CharField(source="employee.name", read_only=True)

    class Meta:
        model = ComplianceViolation
        fields = [
            "id",
            "employee",
            "employee_name",
            "date",
            "rule",
            "measured",
            "limit",
            "message",
            "acknowledged_at",
            "acknowledgement",
        ]


class ViolationListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = DefaultPagination

    class ViolationFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField(required=False)
        date_from = Date(required=False)
        date_to = Date(required=False)
        rule = serializers.ChoiceField(choices=RULES, required=False)
        acknowledged = serializers.BooleanField(required=False, allow_null=True, default=None)  # a query string

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return _range_check(attrs)

    @extend_schema(parameters=[ViolationFilterSerializer], responses={200: ViolationOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        values = query_validate(self.ViolationFilterSerializer, request)
        rows = violation_list(
            employee_ids=_own_employee_ids(request, values.get("employee")),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
            rule=values.get("rule"),
            acknowledged=values.get("acknowledged"),
        )
        return paginated(request=request, view=self, queryset=rows, serializer_class=ViolationOutputSerializer)


class ViolationAcknowledgeApi(APIView):
    """Whoever approves the employee's weeks (HR and Admin) acknowledges a violation with a reason; 403 for anyone
    else who can see it (an employee, for their own)."""

    permission_classes = [IsAuthenticated]

    class AcknowledgeSerializer(serializers.Serializer[dict[str, str]]):
        comment = Text(max_length=500)

    @extend_schema(request=AcknowledgeSerializer, responses={200: ViolationOutputSerializer})
    def post(self, request: Request, violation_id: uuid.UUID) -> Response:
        violation = violation_list(employee_ids=_own_employee_ids(request, None)).filter(pk=violation_id).first()
        if violation is None:
            raise NotFound("No such violation.")
        data = self.AcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        violation = services.violation_acknowledge(
            actor=request.user, violation=violation, comment=data.validated_data["comment"]
        )
        return Response(ViolationOutputSerializer(violation).data)
