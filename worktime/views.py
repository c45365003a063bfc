"""Web UI of working time: the leave page (calendar, record or request, decide) and the compliance page."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError, NotFound
from core.fields import DATE_MAX, DATE_MIN, DateFormField, HoursFormField
from core.roles import is_staff_user
from core.ui import DateInput, error_to_form, render_page, safe_next, staff_required
from timesheets.models import Employee
from timesheets.pickers import EmployeePickerField
from timesheets.selectors import employee_for_user, employee_list, tenant_today, visible_employee_ids
from worktime import services
from worktime.models import LeavePortion, LeaveRecord, LeaveStatus, LeaveType
from worktime.rules import PRESETS, RULES
from worktime.selectors import holidays_list, leave_list, rules_get, violation_list

EMPLOYEES_PER_PAGE = 25


class LeaveForm(forms.Form):
    employee = EmployeePickerField(required=False)
    leave_type = forms.ModelChoiceField(queryset=LeaveType.objects.filter(active=True), to_field_name="code")
    start_date = DateFormField(widget=DateInput(), label="From")
    end_date = DateFormField(widget=DateInput(), label="To")
    portion = forms.ChoiceField(choices=LeavePortion.choices, initial=LeavePortion.FULL_DAY)
    hours = HoursFormField(required=False, max_digits=5, decimal_places=2, min_value=0, max_value=24)
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: Any, staff: bool, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff:
            self.fields["employee"].user = user  # type: ignore[attr-defined]
            self.fields["employee"].required = True
        else:
            del self.fields["employee"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        return data


class MonthForm(forms.Form):
    month = forms.RegexField(regex=r"^\d{4}-\d{2}$", required=False)

    def month_start(self, today: date) -> date:
        value = self.cleaned_data.get("month") if self.is_valid() else None
        if value:
            year, month = (int(part) for part in value.split("-"))
            if DATE_MIN.year <= year <= DATE_MAX.year and 1 <= month <= 12:
                return date(year, month, 1)
            self.add_error("month", f"A month between {DATE_MIN:%Y-%m} and {DATE_MAX:%Y-%m}.")
        return today.replace(day=1)


@dataclass(frozen=True)
class CalendarRow:
    employee: Employee
    cells: list[str]


def _calendar_rows(employees: list[Employee], start: date, end: date) -> tuple[list[date], list[CalendarRow]]:
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    holidays = {holiday.date: holiday.name for holiday in holidays_list(date_from=start, date_to=end)}
    marks: dict[tuple[uuid.UUID, date], str] = {}
    for record in leave_list(
        employee_ids=[employee.id for employee in employees], date_from=start, date_to=end
    ).exclude(status__in=[LeaveStatus.REJECTED, LeaveStatus.CANCELLED]):
        day = max(record.start_date, start)
        while day <= min(record.end_date, end):
            pending = "?" if record.status == LeaveStatus.REQUESTED else ""
            marks[(record.employee_id, day)] = record.leave_type.code[:3].upper() + pending
            day += timedelta(days=1)
    rows = []
    for employee in employees:
        cells = []
        for day in days:
            mark = marks.get((employee.id, day))
            cells.append(mark or ("H" if day in holidays else ("·" if day.weekday() >= 5 else "")))
        rows.append(CalendarRow(employee=employee, cells=cells))
    return days, rows


@login_required
@require_http_methods(["GET", "POST"])
def leave_index(request: HttpRequest) -> HttpResponse:
    """The month's leave and holidays per employee, the form to record (HR) or request leave, and open requests."""
    staff = is_staff_user(request.user)
    form = LeaveForm(request.POST or None, staff=staff, user=request.user)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        employee = values.get("employee") if staff else employee_for_user(user=request.user)
        if employee is None:
            messages.error(request, "Your login is not linked to an employee record; ask HR to link it.")
        else:
            try:
                services.leave_create(
                    actor=request.user,
                    entry=services.LeaveInput(
                        employee_id=employee.id,
                        leave_type=values["leave_type"],
                        start_date=values["start_date"],
                        end_date=values["end_date"],
                        portion=values["portion"],
                        hours=values.get("hours"),
                        note=values.get("note") or "",
                    ),
                    as_request=not staff,
                )
            except ApplicationError as exc:
                error_to_form(request, form, exc)
            else:
                messages.success(request, "Leave recorded." if staff else "Leave requested.")
                return redirect("leave")
    month_form = MonthForm(request.GET)
    start = month_form.month_start(tenant_today())
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    people = employee_list(user=request.user, active=True)
    page = Paginator(people, EMPLOYEES_PER_PAGE).get_page(request.GET.get("page"))
    days, rows = _calendar_rows(list(page.object_list), start, end)
    own = employee_for_user(user=request.user)
    waiting = leave_list(
        employee_ids=None if staff else [own.id] if own is not None else [], status=LeaveStatus.REQUESTED
    )
    previous = (start - timedelta(days=1)).replace(day=1)
    following = end + timedelta(days=1)
    return render_page(
        request,
        "worktime/leave.html",
        {
            "form": form,
            "month_form": month_form,
            "month": start,
            "previous_month": previous.strftime("%Y-%m"),
            "next_month": following.strftime("%Y-%m"),
            "days": days,
            "rows": rows,
            "page_obj": page,
            "page_query": f"month={start.strftime('%Y-%m')}",
            "waiting": waiting[:100],
            "staff": staff,
        },
    )


@staff_required
@require_POST
def leave_decide_view(request: HttpRequest, leave_id: uuid.UUID) -> HttpResponse:
    record = LeaveRecord.objects.filter(pk=leave_id).first()
    if record is None:
        raise NotFound("No such leave.")
    approve = request.POST.get("decision") == "approve"
    try:
        services.leave_decide(
            actor=request.user, record=record, approve=approve, comment=str(request.POST.get("comment", ""))[:500]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Leave of {record.employee.name} {'approved' if approve else 'rejected'}.")
    return redirect("leave")


class ComplianceFilterForm(forms.Form):
    date_from = DateFormField(required=False, widget=DateInput(), label="From")
    date_to = DateFormField(required=False, widget=DateInput(), label="To")
    rule = forms.ChoiceField(
        choices=[("", "Any rule"), *[(rule, rule.replace("_", " ")) for rule in RULES]], required=False
    )
    open_only = forms.BooleanField(required=False, label="Not acknowledged only")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "Must not be before the start date.")
        return data


class ComplianceCheckForm(forms.Form):
    date_from = DateFormField(widget=DateInput(), label="Check from")
    date_to = DateFormField(widget=DateInput(), label="to")
    preset = forms.ChoiceField(choices=[(key, value["label"]) for key, value in PRESETS.items()], required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        return data


@staff_required
@require_http_methods(["GET", "POST"])
def compliance_index(request: HttpRequest) -> HttpResponse:
    """The violations with filters; a form that checks a period under the tenant's rules; acknowledgements."""
    today = tenant_today()
    check = ComplianceCheckForm(
        request.POST or None,
        prefix="check",
        initial={"date_from": today - timedelta(days=28), "date_to": today, "preset": rules_get()[0]},
    )
    if request.method == "POST" and check.is_valid():
        checked = check.cleaned_data
        try:
            if checked.get("preset") and checked["preset"] != rules_get()[0]:
                services.rules_save(actor=request.user, preset=checked["preset"], thresholds={})
            run = services.compliance_check(
                actor=request.user, date_from=checked["date_from"], date_to=checked["date_to"]
            )
        except ApplicationError as exc:
            error_to_form(request, check, exc)
        else:
            messages.success(request, f"Checked {run.date_from:%d %b} to {run.date_to:%d %b %Y}: {run.violations} new.")
            return redirect("compliance")
    filters = ComplianceFilterForm(request.GET)
    values: dict[str, Any] | None = filters.cleaned_data if filters.is_valid() else None
    found = (
        violation_list(
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
            rule=values.get("rule") or None,
            acknowledged=False if values.get("open_only") else None,
        )
        if values is not None
        else violation_list().none()
    )
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render_page(
        request,
        "worktime/compliance.html",
        {
            "check": check,
            "filters": filters,
            "page_obj": page,
            "page_query": params.urlencode(),
            "preset_label": PRESETS[rules_get()[0]]["label"],
        },
    )


@login_required
@require_POST
def violation_acknowledge_view(request: HttpRequest, violation_id: uuid.UUID) -> HttpResponse:
    """From the compliance page or a timesheet page's panel; the service decides who may acknowledge."""
    team = visible_employee_ids(request.user)  # None: everyone (HR, Admin); a Manager: own record and team
    visible = None if team is None else sorted(team)
    violation = violation_list(employee_ids=visible).filter(pk=violation_id).first()
    if violation is None:
        raise NotFound("No such violation.")
    try:
        services.violation_acknowledge(
            actor=request.user, violation=violation, comment=str(request.POST.get("comment", ""))[:500]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Violation acknowledged.")
    return redirect(safe_next(request, "/compliance" if is_staff_user(request.user) else "/my-week"))
