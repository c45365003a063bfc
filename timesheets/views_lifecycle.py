"""Web UI of the timesheet lifecycle: editing a day, submitting, approving or rejecting a week, the approval
queue, the unallocated-day worklist and pay periods (close, reopen, payroll export links).

Each view validates a small form, calls one service and redirects back with a message; a service's refusal
(a closed period, an approved week, a week not complete) becomes an error message, never a 500.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.formats import date_format, number_format
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError
from core.fields import DateFormField
from core.roles import is_admin_user, is_staff_user
from core.ui import render_page, reviewer_required, safe_next, staff_required
from timesheets.lifecycle import (
    WeekView,
    active_projects_for_rows,
    may_decide_week,
    may_edit_week,
    pay_periods_between,
    unallocated_day_list,
    week_list,
    week_start_of,
    week_view,
)
from timesheets.models import Employee, PayPeriod, TimesheetWeek, WeekStatus
from timesheets.selectors import tenant_today
from timesheets.services.periods import MAX_REASON, pay_period_close, pay_period_reopen
from timesheets.services.reminders import reminder_preference_get, reminder_preference_set
from timesheets.services.weeks import (
    MAX_COMMENT,
    MAX_NOTE,
    DaySplitRow,
    day_split_save,
    week_decide,
    week_reopen,
    week_submit,
    weeks_approve,
)

ROW_SLOTS = 2  # empty project rows offered per day for adding work


def week_panel(*, user: Any, employee: Employee, monday: date) -> dict[str, Any]:
    """What the grid and "my week" show under the hours: status, comment, actions allowed, day editors."""
    view = week_view(employee=employee, week_start=monday)
    projects = list(active_projects_for_rows())
    return {
        "week": view,
        "may_edit": may_edit_week(user, employee) and view.status != WeekStatus.APPROVED,
        "may_submit": may_edit_week(user, employee) and view.status in (WeekStatus.DRAFT, WeekStatus.REJECTED),
        "may_decide": may_decide_week(user, employee) and view.status == WeekStatus.SUBMITTED,
        "may_reopen": may_decide_week(user, employee) and view.status == WeekStatus.APPROVED,
        "projects": projects,
        "slots": range(ROW_SLOTS),
    }


def _employee_or_none(request: HttpRequest, value: str) -> Employee | None:
    try:
        key = uuid.UUID(value)
    except (ValueError, TypeError):
        return None
    employee = Employee.objects.filter(id=key).first()
    return employee if employee is not None and may_edit_week(request.user, employee) else None


def _week_page(request: HttpRequest, employee: Employee, monday: date) -> str:
    if is_staff_user(request.user):
        return f"/timesheets?employee={employee.id}&week={monday.isoformat()}"
    return f"/my-week?week={monday.isoformat()}"


class DayForm(forms.Form):
    employee = forms.UUIDField()
    date = DateFormField()
    note = forms.CharField(max_length=MAX_NOTE, required=False)


def _day_rows(request: HttpRequest) -> tuple[list[DaySplitRow], list[str]]:
    """Rows posted as parallel `project` / `hours` lists; a row with empty hours (or 0) is a row removed."""
    rows: list[DaySplitRow] = []
    problems: list[str] = []
    projects, hours = request.POST.getlist("project"), request.POST.getlist("hours")
    for index, (project, amount) in enumerate(zip(projects, hours, strict=False)):
        if not project or not amount.strip():
            continue
        try:
            value = Decimal(amount.strip().replace(",", "."))
            project_id = uuid.UUID(project)
        except (InvalidOperation, ValueError):
            problems.append(f"Row {index + 1}: hours must be a number.")
            continue
        if not value.is_finite():
            problems.append(f"Row {index + 1}: hours must be a number.")
        elif value != 0:
            rows.append(DaySplitRow(project_id=project_id, hours=value))
    return rows, problems


@login_required
@require_POST
def timesheet_day_save(request: HttpRequest) -> HttpResponse:
    """Save one day's split and note from the week page."""
    form = DayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The day was not understood; nothing was changed.")
        return redirect(safe_next(request, "/my-week"))
    employee = _employee_or_none(request, str(form.cleaned_data["employee"]))
    if employee is None:
        messages.error(request, "No such employee.")
        return redirect("/my-week")
    day = form.cleaned_data["date"]
    back = _week_page(request, employee, week_start_of(day))
    rows, problems = _day_rows(request)
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect(back)
    try:
        saved = day_split_save(
            actor=request.user, employee=employee, day=day, rows=rows, note=form.cleaned_data["note"]
        )
    except ApplicationError as exc:
        for message in [exc.message, *(m for msgs in exc.fields.values() for m in msgs)]:
            messages.error(request, message)
    else:
        allocated = number_format(saved.allocated)
        messages.success(request, f"{date_format(day, 'D')} {date_format(day)} saved: {allocated} h allocated.")
    return redirect(back)


class WeekActionForm(forms.Form):
    employee = forms.UUIDField()
    week = DateFormField()


@login_required
@require_POST
def timesheet_week_submit(request: HttpRequest) -> HttpResponse:
    form = WeekActionForm(request.POST)
    employee = _employee_or_none(request, str(request.POST.get("employee", "")))
    if not form.is_valid() or employee is None:
        messages.error(request, "The week was not understood; nothing was changed.")
        return redirect("/my-week")
    monday = week_start_of(form.cleaned_data["week"])
    try:
        week_submit(actor=request.user, employee=employee, week_start=monday)
    except ApplicationError as exc:
        missing = exc.extra.get("missing") or []
        details = "; ".join(f"{row['date']}: {row['allocated']} of {row['attended']} h" for row in missing)
        messages.error(request, f"{exc.message} {details}".strip())
    else:
        messages.success(request, "Week submitted for approval.")
    return redirect(_week_page(request, employee, monday))


def _week_or_none(request: HttpRequest, week_id: uuid.UUID) -> TimesheetWeek | None:
    week = TimesheetWeek.objects.select_related("employee").filter(id=week_id).first()
    if week is None or not (may_decide_week(request.user, week.employee) or may_edit_week(request.user, week.employee)):
        return None
    return week


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(max_length=MAX_COMMENT, required=False)


@login_required
@require_POST
def timesheet_week_decide(request: HttpRequest, week_id: uuid.UUID) -> HttpResponse:
    week = _week_or_none(request, week_id)
    form = DecideForm(request.POST)
    if week is None or not form.is_valid():
        messages.error(request, "The decision was not understood; nothing was changed.")
        return redirect(safe_next(request, "/weeks"))
    approve = form.cleaned_data["decision"] == "approve"
    try:
        week_decide(actor=request.user, week=week, approve=approve, comment=form.cleaned_data["comment"])
    except ApplicationError as exc:
        messages.error(request, " ".join([exc.message, *(m for msgs in exc.fields.values() for m in msgs)]))
    else:
        messages.success(
            request, f"Week of {week.employee.name} {'approved' if approve else 'returned with your comment'}."
        )
    return redirect(safe_next(request, _week_page(request, week.employee, week.week_start)))


@login_required
@require_POST
def timesheet_week_reopen(request: HttpRequest, week_id: uuid.UUID) -> HttpResponse:
    week = _week_or_none(request, week_id)
    if week is None:
        messages.error(request, "No such week.")
        return redirect("/weeks")
    try:
        week_reopen(actor=request.user, week=week, reason=str(request.POST.get("reason", ""))[:MAX_COMMENT])
    except ApplicationError as exc:
        messages.error(request, " ".join([exc.message, *(m for msgs in exc.fields.values() for m in msgs)]))
    else:
        messages.success(request, "Week reopened: its hours can be corrected again.")
    return redirect(safe_next(request, _week_page(request, week.employee, week.week_start)))


@reviewer_required
@require_GET
def weeks_queue(request: HttpRequest) -> HttpResponse:
    """Weeks waiting for a decision (or any status), newest first, with bulk approval."""
    status = request.GET.get("status") or WeekStatus.SUBMITTED
    if status not in WeekStatus.values:
        status = WeekStatus.SUBMITTED
    weeks = week_list(user=request.user, status=status)
    page = Paginator(weeks, 100).get_page(request.GET.get("page"))
    return render_page(
        request,
        "timesheets/weeks.html",
        {"page_obj": page, "status": status, "statuses": WeekStatus.choices},
    )


@reviewer_required
@require_POST
def weeks_bulk_approve(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("chosen")
    if not ids:
        messages.error(request, "Tick at least one week.")
        return redirect("/weeks")
    try:
        result = weeks_approve(actor=request.user, ids=ids[:1000], comment="")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        counts = result.counts()
        others = {k: v for k, v in counts.items() if k != "approved" and v}
        extra = (" · " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in others.items())) if others else ""
        messages.success(request, f"{counts['approved']} week(s) approved{extra}.")
    return redirect("/weeks")


@login_required
@require_GET
def unallocated_days(request: HttpRequest) -> HttpResponse:
    """The days no evidence could split: HR sees everyone's, an employee their own; each links to its week."""
    days = unallocated_day_list(user=request.user)
    page = Paginator(days, 100).get_page(request.GET.get("page"))
    rows = [
        {
            "day": day,
            "link": _week_page(request, day.employee, week_start_of(day.date)) + f"#day-{day.date.isoformat()}",
        }
        for day in page
    ]
    return render_page(request, "timesheets/unallocated.html", {"page_obj": page, "rows": rows})


@staff_required
@require_GET
def pay_periods(request: HttpRequest) -> HttpResponse:
    today = tenant_today()
    periods = pay_periods_between(date_from=today - timedelta(days=366), date_to=today + timedelta(days=31))
    return render_page(
        request,
        "timesheets/pay_periods.html",
        {"periods": periods, "is_admin": is_admin_user(request.user), "max_reason": MAX_REASON},
    )


class CloseForm(forms.Form):
    date = DateFormField()
    override = forms.BooleanField(required=False)
    override_reason = forms.CharField(max_length=MAX_REASON, required=False)


@staff_required
@require_POST
def pay_period_close_view(request: HttpRequest) -> HttpResponse:
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The period was not understood; nothing was changed.")
        return redirect("/pay-periods")
    data = form.cleaned_data
    try:
        result = pay_period_close(
            actor=request.user, day=data["date"], override=data["override"], override_reason=data["override_reason"]
        )
    except ApplicationError as exc:
        unapproved = exc.extra.get("unapproved") or []
        names = dict(
            Employee.objects.filter(id__in=[row["employee"] for row in unapproved[:20]]).values_list("id", "name")
        )
        listed = "; ".join(
            f"{names.get(uuid.UUID(row['employee']), row['employee'])} week of {row['week_start']} ({row['status']})"
            for row in unapproved[:20]
        )
        more = f" and {len(unapproved) - 20} more" if len(unapproved) > 20 else ""
        reasons = " ".join(m for msgs in exc.fields.values() for m in msgs)
        messages.error(request, " ".join(part for part in (exc.message, reasons, listed + more) if part))
    else:
        period = result.period
        messages.success(request, f"Pay period {period.start_date} to {period.end_date} closed.")
    return redirect("/pay-periods")


@staff_required
@require_POST
def pay_period_reopen_view(request: HttpRequest, period_id: uuid.UUID) -> HttpResponse:
    period = PayPeriod.objects.filter(id=period_id).first()
    if period is None:
        messages.error(request, "No such pay period.")
        return redirect("/pay-periods")
    try:
        pay_period_reopen(actor=request.user, period=period, reason=str(request.POST.get("reason", ""))[:MAX_REASON])
    except ApplicationError as exc:
        messages.error(request, " ".join([exc.message, *(m for msgs in exc.fields.values() for m in msgs)]))
    else:
        messages.success(request, f"Pay period {period.start_date} to {period.end_date} reopened.")
    return redirect("/pay-periods")


def week_status_label(view: WeekView) -> str:
    return str(WeekStatus(view.status).label)


@login_required
@require_http_methods(["GET", "POST"])
def reminders_page(request: HttpRequest) -> HttpResponse:
    """Turn my e-mail reminders on or off (a rejected week is always told)."""
    preference = reminder_preference_get(user=request.user)
    if request.method == "POST":
        preference = reminder_preference_set(
            user=request.user,
            week_reminders=request.POST.get("week_reminders") == "on",
            manager_digest=request.POST.get("manager_digest") == "on",
        )
        messages.success(request, "Reminder preferences saved.")
        return redirect("/reminders")
    return render_page(request, "timesheets/reminders.html", {"preference": preference})
