"""Web UI of the timesheet records: suggestion review, the weekly grid, employees, projects and "my week".

Every view is thin: a Django form validates the input, a selector reads (scoped to what the user may see),
one service writes, and the user is redirected with a message. Service errors become messages and field
errors, never a 500. Every form works as a plain POST or GET; htmx only swaps parts of pages in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.links import tenant_link_base
from core.errors import ApplicationError
from core.fields import DateFormField, date_in_range
from core.replica import reads_from_replica
from core.roles import is_reviewer_user, is_staff_user
from core.ui import DateInput, error_to_form, is_htmx, render_page, safe_next, staff_required
from timesheets.models import Employee
from timesheets.pickers import EmployeePickerField
from timesheets.selectors import (
    allocation_list,
    attendance_list,
    employee_for_user,
    employee_get,
    employee_list,
    project_get,
    project_list,
    tenant_today,
    user_link_choices,
)
from timesheets.services import (
    EmployeeChanges,
    ProjectChanges,
    employee_create,
    employee_pii_reveal,
    employee_update,
    employees_invite,
    project_create,
    project_update,
)
from timesheets.views_lifecycle import week_panel
from timesheets.views_review import review_context

LIST_PAGE_SIZE = 50
ZERO = Decimal(0)


def _employee_choices(user: Any, *, active: bool | None = None) -> QuerySet[Employee]:
    return employee_list(user=user, active=active).only("id", "name")


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


# Timesheet grid ----------------------------------------------------------------------------------------------


class WeekField(forms.CharField):
    """An ISO week (`2026-W10`, what `<input type=week>` sends) or any date in it; cleans to its Monday."""

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = str(value or "").strip()
        if not text:
            return None
        try:
            if "-W" in text.upper():
                year, week = text.upper().split("-W", 1)
                monday = date.fromisocalendar(int(year), int(week), 1)
            else:
                monday = _week_start(date.fromisoformat(text))
        except ValueError:
            raise ValidationError("Enter a week such as 2026-W10 or a date.", code="invalid") from None
        date_in_range(monday)  # the grid links the weeks either side: no week at the calendar's ends
        return monday


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


class GridForm(forms.Form):
    employee = EmployeePickerField(required=False)
    week = WeekField(required=False, widget=forms.TextInput(attrs={"type": "week"}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employee"].user = user  # type: ignore[attr-defined]


@dataclass
class GridRow:
    code: str
    cells: list[Decimal | None]
    total: Decimal = ZERO


@dataclass
class GridDay:
    day: date
    allocated: Decimal = ZERO
    attended: Decimal = ZERO

    @property
    def gap(self) -> Decimal:
        return self.attended - self.allocated

    @property
    def state(self) -> str:
        """ "gap": attended hours not allocated yet; "over": more allocated than attended."""
        return "gap" if self.gap > 0 else "over" if self.gap < 0 else ""

    @property
    def excess(self) -> Decimal:
        """Hours allocated beyond attendance (0 when the day is not over)."""
        return max(-self.gap, ZERO)

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5


@dataclass
class WeekGrid:
    employee: Employee
    monday: date
    rows: list[GridRow] = field(default_factory=list)
    days: list[GridDay] = field(default_factory=list)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def allocated(self) -> Decimal:
        return sum((day.allocated for day in self.days), ZERO)

    @property
    def attended(self) -> Decimal:
        return sum((day.attended for day in self.days), ZERO)

    @property
    def gap(self) -> Decimal:
        return self.attended - self.allocated

    @property
    def week(self) -> str:
        return iso_week(self.monday)

    @property
    def previous_week(self) -> str:
        return iso_week(self.monday - timedelta(days=7))

    @property
    def next_week(self) -> str:
        return iso_week(self.monday + timedelta(days=7))

    @property
    def by_day(self) -> list[tuple[GridDay, list[tuple[str, Decimal]]]]:
        """The week as a phone shows it: one block per day with that day's projects and hours."""
        return [
            (day, [(row.code, cell) for row in self.rows if (cell := row.cells[index]) is not None])
            for index, day in enumerate(self.days)
        ]

    @property
    def csv_url(self) -> str:
        query = {"format": "csv", "employee": self.employee.id, "date_from": self.monday, "date_to": self.sunday}
        return f"/api/allocations?{urlencode(query)}"


def week_grid(*, user: Any, employee: Employee, monday: date) -> WeekGrid:
    """Projects as rows, days as columns: allocated hours, with attended hours and the gap per day."""
    sunday = monday + timedelta(days=6)
    grid = WeekGrid(employee=employee, monday=monday)
    grid.days = [GridDay(day=monday + timedelta(days=offset)) for offset in range(7)]
    rows: dict[str, GridRow] = {}
    allocations = allocation_list(user=user, employee_id=employee.id, date_from=monday, date_to=sunday)
    for code, day, hours in allocations.values_list("project__code", "date", "hours"):
        if hours is None:
            continue
        row = rows.setdefault(code, GridRow(code=code, cells=[None] * 7))
        index = (day - monday).days
        row.cells[index] = (row.cells[index] or ZERO) + hours
        row.total += hours
        grid.days[index].allocated += hours
    for day, hours in attendance_list(user=user, employee_id=employee.id, date_from=monday, date_to=sunday).values_list(
        "date", "worked_hours"
    ):
        if hours is not None:
            grid.days[(day - monday).days].attended += hours
    grid.rows = sorted(rows.values(), key=lambda row: row.code)
    return grid


@login_required
@require_GET
@reads_from_replica
def timesheet_grid(request: HttpRequest) -> HttpResponse:
    """One employee's week; HR and Admin choose the employee, a Manager among their team, anyone else sees their
    own."""
    staff = is_reviewer_user(request.user)
    asked = GridForm(request.GET, user=request.user)
    asked.is_valid()
    cleaned: dict[str, Any] = asked.cleaned_data  # the fields that are valid, even when another one is not
    for problems in asked.errors.values():
        messages.error(request, " ".join(str(problem) for problem in problems))
    monday = cleaned.get("week") or _week_start(tenant_today())
    employee = cleaned.get("employee") if staff else employee_for_user(user=request.user)
    if employee is None and staff:
        employee = _employee_choices(request.user, active=True).first()
    form = GridForm(user=request.user, initial={"employee": employee, "week": iso_week(monday)})
    grid = week_grid(user=request.user, employee=employee, monday=monday) if employee is not None else None
    panel = week_panel(user=request.user, employee=employee, monday=monday) if employee is not None else None
    return render_page(
        request, "timesheets/grid.html", {"form": form, "grid": grid, "show_picker": staff, "panel": panel}
    )


# Employees ---------------------------------------------------------------------------------------------------

SORTS = {"name": "Name", "email": "E-mail", "hours": "Hours / week"}


def _employee_page(request: HttpRequest, *, revealed: dict[tuple[str, str], str] | None = None) -> HttpResponse:
    """Employees with search and sort; personal data masked until HR or Admin reveals one value on purpose."""
    show_inactive = request.GET.get("inactive") == "1"
    search = str(request.GET.get("q") or "")[:100]
    asked = str(request.GET.get("sort") or "")
    sort = asked if asked in SORTS else "name"
    descending = request.GET.get("dir") == "desc"
    employees = employee_list(
        user=request.user, active=None if show_inactive else True, search=search, sort=sort, descending=descending
    )
    page = Paginator(employees, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    base = _query_without(request, "sort", "dir", "page")
    sort_links = []
    for key, label in SORTS.items():
        current = key == sort
        # A click on the sorted column turns its order round; another column starts ascending.
        next_dir = "asc" if current and descending else "desc" if current else "asc"
        sort_links.append(
            {
                "key": key,
                "label": label,
                "href": f"/employees?{base}&sort={key}&dir={next_dir}",
                "current": ("descending" if descending else "ascending") if current else "",
            }
        )
    return render_page(
        request,
        "timesheets/employees.html",
        {
            "page_obj": page,
            "may_reveal": is_staff_user(request.user),
            "pii_fields": [("national_id", "National id"), ("bank_account", "Bank account"), ("salary", "Salary")],
            "revealed": {f"{key[0]}:{key[1]}": value for key, value in (revealed or {}).items()},
            "show_inactive": show_inactive,
            "search": search,
            "sort_links": sort_links,
            "page_query": _query_without(request, "page"),
            "here": request.get_full_path(),
        },
    )


@login_required
@require_GET
@reads_from_replica
def employee_index(request: HttpRequest) -> HttpResponse:
    return _employee_page(request)


@staff_required
@require_POST
def employee_reveal(request: HttpRequest, employee_id: uuid.UUID) -> HttpResponse:
    """Reveal one personal value of one employee (audited); the list is shown again with it in place."""
    try:
        employee = employee_get(employee_id=employee_id, user=request.user)
        value = employee_pii_reveal(actor=request.user, employee=employee, field=str(request.POST.get("field", "")))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next(request, "/employees"))
    if is_htmx(request):
        return HttpResponse(f'<span class="pii-revealed">{escape(value)}</span>')
    back = safe_next(request, "/employees")
    request.GET = QueryDict(back.partition("?")[2])
    return _employee_page(request, revealed={(str(employee.id), str(request.POST.get("field"))): value})


class EmployeeForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(max_length=254, label="E-mail")
    jira_account_id = forms.CharField(max_length=128, required=False, label="Jira account id")
    weekly_hours = forms.DecimalField(
        max_digits=4, decimal_places=1, min_value=Decimal(0), max_value=Decimal(168), initial=Decimal("40.0")
    )
    start_date = DateFormField(
        required=False,
        label="Start date",
        help_text="The first day of employment; no contract may start before it.",
        widget=DateInput(),
    )
    active = forms.BooleanField(required=False, initial=True)
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Login", empty_label="No login linked"
    )
    national_id = forms.CharField(max_length=64, required=False, label="National id")
    bank_account = forms.CharField(max_length=64, required=False, label="Bank account")
    salary = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0), required=False)

    def __init__(self, *args: Any, employee: Employee | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = user_link_choices(employee=employee)  # type: ignore[attr-defined]
        self.fields["user"].help_text = "Links a login to this record: its holder then reviews their own week."


def _employee_initial(employee: Employee) -> dict[str, Any]:
    return {
        "name": employee.name,
        "email": employee.email,
        "jira_account_id": employee.jira_account_id,
        "weekly_hours": employee.weekly_hours,
        "start_date": employee.start_date,
        "active": employee.active,
        "user": employee.user_id,
        "national_id": employee.national_id,
        "bank_account": employee.bank_account,
        "salary": employee.salary,
    }


@staff_required
@require_http_methods(["GET", "POST"])
def employee_new(request: HttpRequest) -> HttpResponse:
    form = EmployeeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            employee = employee_create(
                actor=request.user,
                name=data["name"],
                email=data["email"],
                jira_account_id=data["jira_account_id"],
                active=data["active"],
                weekly_hours=data["weekly_hours"],
                start_date=data["start_date"],
                user=data["user"],
                national_id=data["national_id"] or None,
                bank_account=data["bank_account"] or None,
                salary=data["salary"],
            )
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, f"Employee {employee.name} created.")
            return redirect("employees")
    return render_page(request, "timesheets/employee_form.html", {"form": form, "employee": None})


@staff_required
@require_http_methods(["GET", "POST"])
def employee_edit(request: HttpRequest, employee_id: uuid.UUID) -> HttpResponse:
    try:
        employee = employee_get(employee_id=employee_id, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("employees")
    initial = _employee_initial(employee)
    form = EmployeeForm(request.POST or None, initial=initial, employee=employee)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        for name in ("national_id", "bank_account"):
            if name in data:
                data[name] = data[name] or None
        try:
            employee_update(actor=request.user, employee=employee, data=cast(EmployeeChanges, data))
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, f"Employee {employee.name} saved." if data else "Nothing changed.")
            return redirect("employees")
    return render_page(request, "timesheets/employee_form.html", {"form": form, "employee": employee})


# Projects ----------------------------------------------------------------------------------------------------


@login_required
@require_GET
@reads_from_replica
def project_index(request: HttpRequest) -> HttpResponse:
    show_inactive = request.GET.get("inactive") == "1"
    projects = project_list(active=None if show_inactive else True)
    page = Paginator(projects, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "timesheets/projects.html",
        {"page_obj": page, "show_inactive": show_inactive, "page_query": _query_without(request, "page")},
    )


class ProjectForm(forms.Form):
    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=200)
    jira_project_key = forms.CharField(max_length=32, required=False, label="Jira project key")
    active = forms.BooleanField(required=False, initial=True)
    starts_on = DateFormField(required=False, label="Starts on", widget=DateInput())
    ends_on = DateFormField(required=False, label="Ends on", widget=DateInput())
    client = forms.CharField(max_length=200, required=False)
    billable = forms.BooleanField(required=False, initial=True)
    budget_hours = forms.DecimalField(
        required=False, max_digits=9, decimal_places=2, min_value=0, label="Budget (hours)"
    )
    cost_centre = forms.CharField(max_length=64, required=False, label="Cost centre")


@staff_required
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, f"Project {project.code} created.")
            return redirect("projects")
    return render_page(request, "timesheets/project_form.html", {"form": form, "project": None})


@staff_required
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    try:
        project = project_get(project_id=project_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("projects")
    initial = {name: getattr(project, name) for name in ProjectForm.base_fields}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            project_update(actor=request.user, project=project, data=cast(ProjectChanges, data))
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, f"Project {project.code} saved." if data else "Nothing changed.")
            return redirect("projects")
    return render_page(request, "timesheets/project_form.html", {"form": form, "project": project})


# My week -----------------------------------------------------------------------------------------------------


@login_required
@require_GET
@reads_from_replica
def my_week(request: HttpRequest) -> HttpResponse:
    """Self-service: my pending suggestions to accept or reject, and my allocations this week."""
    employee = employee_for_user(user=request.user)
    context: dict[str, Any] = {"employee": employee}
    if employee is not None:
        try:
            monday = WeekField(required=False).clean(request.GET.get("week")) or _week_start(tenant_today())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            monday = _week_start(tenant_today())
        context.update(review_context(request, QueryDict(), path="/my-week"))
        context.update(
            grid=week_grid(user=request.user, employee=employee, monday=monday),
            panel=week_panel(user=request.user, employee=employee, monday=monday),
            show_employee=False,
        )
    return render_page(request, "timesheets/my_week.html", context)


@staff_required
@require_POST
def employee_invite_all(request: HttpRequest) -> HttpResponse:
    """E-mail an invitation to every active employee without a login; each is linked on acceptance."""
    try:
        result = employees_invite(actor=request.user, link_base=tenant_link_base(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{result.invited} invitation(s) sent."
            if result.invited
            else "Every active employee already has a login or an open invitation.",
        )
    return redirect("employees")
