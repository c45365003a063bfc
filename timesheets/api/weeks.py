"""The week of an employee (`/api/timesheets/{employee_id}/…`), the approval queue (`/api/weeks…`) and the
unallocated-day worklist (`/api/unallocated-days`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.fields import Date, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from timesheets.api.common import PeriodFilter, paginated, path_uuid
from timesheets.lifecycle import (
    WeekView,
    may_decide_week,
    may_edit_week,
    unallocated_day_list,
    week_list,
    week_view,
)
from timesheets.models import Employee, TimesheetWeek, WeekStatus
from timesheets.services.weeks import (
    MAX_BULK_WEEKS,
    MAX_COMMENT,
    MAX_DAY_ROWS,
    MAX_NOTE,
    DaySplitRow,
    day_split_save,
    week_decide,
    week_reopen,
    week_start_checked,
    week_submit,
    weeks_approve,
)


def _employee_for(request: Request, employee_id: str) -> Employee:
    """The employee named in the path, if the caller may see their timesheet (404 otherwise, also for another
    tenant's id); looked up before anything else in the request is validated."""
    key = path_uuid(employee_id, "employee_id")
    employee = Employee.objects.filter(id=key).first()
    if employee is None or not may_edit_week(request.user, employee):
        raise NotFound("No such employee.")
    return employee


def _week_for(request: Request, week_id: str) -> TimesheetWeek:
    key = path_uuid(week_id, "timesheet_week_id")
    week = TimesheetWeek.objects.select_related("employee").filter(id=key).first()
    if week is None or not (may_edit_week(request.user, week.employee) or may_decide_week(request.user, week.employee)):
        raise NotFound("No such week.")
    return week


class DaySerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    attended = serializers.DecimalField(max_digits=5, decimal_places=2)
    allocated = serializers.DecimalField(max_digits=5, decimal_places=2)
    difference = serializers.DecimalField(
        max_digits=6, decimal_places=2, help_text="Allocated minus attended hours (negative: still to allocate)."
    )
    complete = serializers.BooleanField()
    note = serializers.CharField()
    unallocated_reason = serializers.CharField()
    locked = serializers.BooleanField(help_text="The day lies in a closed pay period.")
    allocations = serializers.ListField(child=serializers.DictField())


class WeekOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(allow_null=True)
    employee = serializers.UUIDField()
    employee_name = serializers.CharField()
    week_start = serializers.DateField()
    status = serializers.CharField(help_text="draft, submitted, approved or rejected.")
    comment = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    total_attended = serializers.DecimalField(max_digits=7, decimal_places=2)
    total_allocated = serializers.DecimalField(max_digits=7, decimal_places=2)
    missing = serializers.ListField(child=serializers.DictField())
    days = DaySerializer(many=True)
    projects = serializers.ListField(child=serializers.DictField())


def week_data(view: WeekView) -> dict[str, Any]:
    week = view.week
    return dict(
        WeekOutputSerializer(
            {
                "id": week.id if week else None,
                "employee": view.employee.id,
                "employee_name": view.employee.name,
                "week_start": view.week_start,
                "status": view.status,
                "comment": view.comment,
                "submitted_at": week.submitted_at if week else None,
                "decided_at": week.decided_at if week else None,
                "total_attended": view.total_attended,
                "total_allocated": view.total_allocated,
                "missing": view.missing,
                "days": [
                    {
                        "date": day.date,
                        "attended": day.attended,
                        "allocated": day.allocated,
                        "difference": day.difference,
                        "complete": day.complete,
                        "note": day.note,
                        "unallocated_reason": day.unallocated_reason,
                        "locked": day.locked,
                        "allocations": day.allocations,
                    }
                    for day in view.days
                ],
                "projects": view.projects,
            }
        ).data
    )


class WeekGetApi(APIView):
    permission_classes = [IsAuthenticated]

    class WeekQuerySerializer(serializers.Serializer[Any]):
        week_start = Date(help_text="The Monday the week starts on.")

    @extend_schema(parameters=[WeekQuerySerializer], responses={200: WeekOutputSerializer})
    def get(self, request: Request, employee_id: str) -> Response:
        """One employee's week: per day attended and allocated hours with the difference, the split by project,
        notes, the reasons left by generation, locks; the week's status and the decider's comment."""
        employee = _employee_for(request, employee_id)
        start = week_start_checked(query_validate(self.WeekQuerySerializer, request, paginated=False)["week_start"])
        return Response(week_data(week_view(employee=employee, week_start=start)))


class WeekSubmitApi(APIView):
    permission_classes = [IsAuthenticated]

    class WeekSubmitInputSerializer(serializers.Serializer[Any]):
        week_start = Date(help_text="The Monday the week starts on.")

    @extend_schema(request=WeekSubmitInputSerializer, responses={200: WeekOutputSerializer})
    def post(self, request: Request, employee_id: str) -> Response:
        """Submit the week (the employee, or HR for them). 400 `week_incomplete` listing the attended days that
        are neither fully allocated nor explained by a note; 409 when it is already submitted or approved."""
        employee = _employee_for(request, employee_id)
        data = self.WeekSubmitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        start = week_start_checked(data.validated_data["week_start"])
        week_submit(actor=request.user, employee=employee, week_start=start)
        return Response(week_data(week_view(employee=employee, week_start=start)))


class DayRowSerializer(serializers.Serializer[Any]):
    project = serializers.UUIDField()
    hours = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal(24))


class DaySaveApi(APIView):
    permission_classes = [IsAuthenticated]

    class DaySaveInputSerializer(serializers.Serializer[Any]):
        date = Date()
        allocations = DayRowSerializer(many=True, max_length=MAX_DAY_ROWS)  # type: ignore[call-arg]
        note = Text(required=False, allow_blank=True, max_length=MAX_NOTE)

    class DaySaveOutputSerializer(serializers.Serializer[Any]):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        deleted = serializers.IntegerField()
        allocated = serializers.DecimalField(max_digits=5, decimal_places=2)

    @extend_schema(request=DaySaveInputSerializer, responses={200: DaySaveOutputSerializer})
    def put(self, request: Request, employee_id: str) -> Response:
        """Replace one day's split: one row per project; a project left out is removed (an empty list clears
        the day). `note` sets the day's note ("" removes it; absent keeps it). Saving resolves the day's
        unallocated entry. 409 `period_locked` in a closed pay period or an approved week."""
        employee = _employee_for(request, employee_id)
        data = self.DaySaveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rows = [
            DaySplitRow(project_id=row["project"], hours=row["hours"]) for row in data.validated_data["allocations"]
        ]
        saved = day_split_save(
            actor=request.user,
            employee=employee,
            day=data.validated_data["date"],
            rows=rows,
            note=data.validated_data.get("note"),
        )
        return Response(
            self.DaySaveOutputSerializer(
                {
                    "created": saved.created,
                    "updated": saved.updated,
                    "deleted": saved.deleted,
                    "allocated": saved.allocated,
                }
            ).data
        )


class WeekListOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    employee = serializers.UUIDField(source="employee_id")
    employee_name = serializers.CharField(source="employee.name")
    week_start = serializers.DateField()
    status = serializers.CharField(help_text="draft, submitted, approved or rejected.")
    comment = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class WeekListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = DefaultPagination

    class WeekFilterSerializer(PeriodFilter):
        status = serializers.ChoiceField(choices=WeekStatus.choices, required=False)
        employee = serializers.UUIDField(required=False)

    @extend_schema(parameters=[WeekFilterSerializer], responses={200: WeekListOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Submitted, approved and rejected weeks (HR/Admin: everyone's; others: their own), newest first."""
        filters = query_validate(self.WeekFilterSerializer, request)
        weeks = week_list(
            user=request.user,
            status=filters.get("status"),
            employee_id=filters.get("employee"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        return paginated(request=request, view=self, queryset=weeks, serializer_class=WeekListOutputSerializer)


class WeekDecisionInputSerializer(serializers.Serializer[Any]):
    comment = Text(required=False, allow_blank=True, default="", max_length=MAX_COMMENT)


class WeekApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=WeekDecisionInputSerializer, responses={200: WeekListOutputSerializer})
    def post(self, request: Request, timesheet_week_id: str) -> Response:
        """Approve a submitted week (HR/Admin); its allocations are frozen until it is reopened."""
        week = _week_for(request, timesheet_week_id)
        data = WeekDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = week_decide(actor=request.user, week=week, approve=True, comment=data.validated_data["comment"])
        return Response(WeekListOutputSerializer(decided).data)


class WeekRejectApi(APIView):
    permission_classes = [IsAuthenticated]

    class WeekRejectInputSerializer(serializers.Serializer[Any]):
        comment = Text(max_length=MAX_COMMENT, help_text="What the employee should fix.")

    @extend_schema(request=WeekRejectInputSerializer, responses={200: WeekListOutputSerializer})
    def post(self, request: Request, timesheet_week_id: str) -> Response:
        """Reject a submitted week with a comment (HR/Admin): it returns to the employee to fix and resubmit."""
        week = _week_for(request, timesheet_week_id)
        data = self.WeekRejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = week_decide(actor=request.user, week=week, approve=False, comment=data.validated_data["comment"])
        return Response(WeekListOutputSerializer(decided).data)


class WeekReopenApi(APIView):
    permission_classes = [IsAuthenticated]

    class WeekReopenInputSerializer(serializers.Serializer[Any]):
        reason = Text(max_length=MAX_COMMENT)

    @extend_schema(request=WeekReopenInputSerializer, responses={200: WeekListOutputSerializer})
    def post(self, request: Request, timesheet_week_id: str) -> Response:
        """Reopen an approved week (HR/Admin, with a reason): back to draft. 409 in a closed pay period."""
        week = _week_for(request, timesheet_week_id)
        data = self.WeekReopenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reopened = week_reopen(actor=request.user, week=week, reason=data.validated_data["reason"])
        return Response(WeekListOutputSerializer(reopened).data)


class WeeksApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    class WeeksApproveInputSerializer(serializers.Serializer[Any]):
        ids = serializers.ListField(child=Text(max_length=64), min_length=1, max_length=MAX_BULK_WEEKS)
        comment = Text(required=False, allow_blank=True, default="", max_length=MAX_COMMENT)

    class WeeksApproveOutputSerializer(serializers.Serializer[Any]):
        results = serializers.ListField(child=serializers.DictField())
        counts = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        operation_id="weeks_approve_many",
        request=WeeksApproveInputSerializer,
        responses={200: WeeksApproveOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Approve many weeks at once; each id gets an outcome: approved, already_approved, not_submitted,
        not_found (also another tenant's or an unknown id) or forbidden."""
        data = self.WeeksApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = weeks_approve(
            actor=request.user, ids=data.validated_data["ids"], comment=data.validated_data["comment"]
        )
        return Response(
            {
                "results": [{"id": label, "outcome": outcome.value} for label, outcome in result.results],
                "counts": result.counts(),
            }
        )


class UnallocatedDayOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    employee = serializers.UUIDField(source="employee_id")
    employee_name = serializers.CharField(source="employee.name")
    date = serializers.DateField()
    attended_hours = serializers.DecimalField(max_digits=5, decimal_places=2)
    reason = serializers.CharField()


class UnallocatedDayListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = DefaultPagination

    class UnallocatedFilterSerializer(PeriodFilter):
        employee = serializers.UUIDField(required=False)

    @extend_schema(parameters=[UnallocatedFilterSerializer], responses={200: UnallocatedDayOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Days no evidence could split (with the reason), for HR (everyone's) and employees (their own); saving
        the day's split (`PUT /api/timesheets/{employee_id}/days/{day}`) resolves one."""
        filters = query_validate(self.UnallocatedFilterSerializer, request)
        days = unallocated_day_list(
            user=request.user,
            employee_id=filters.get("employee"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        return paginated(request=request, view=self, queryset=days, serializer_class=UnallocatedDayOutputSerializer)
