"""Web UI of the timesheet records: suggestion review, the weekly grid, employees, projects and "my week".

Every view is thin: a Django form validates the input, a selector reads (scoped to what the user may see),
one service writes, and the user is redirected with a message. Service errors become messages and field
errors, never a 500. Every form works as a plain POST or GET; htmx only swaps parts of pages in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
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
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.links import tenant_link_base
from core.errors import ApplicationError
from core.fields import DateFormField, date_in_range, finite_decimal
from core.replica import reads_from_replica
from core.roles import is_reviewer_user, is_staff_user
from core.ui import DateInput, error_to_form, render_page, safe_next, staff_required
from timesheets.models import Employee, Project, ProjectAllocationSuggestion
from timesheets.selectors import (
    allocation_list,
    attendance_list,
    employee_for_user,
    employee_get,
    employee_list,
    project_get,
    project_list,
    suggestion_pending_list,
    tenant_today,
    user_link_choices,
)
from timesheets.services import (
    MAX_DAY_HOURS,
    MAX_DECISION_IDS,
    DecisionItem,
    DecisionOutcome,
    DecisionResult,
    EmployeeChanges,
    ProjectChanges,
    employee_create,
    employee_update,
    employees_invite,
    project_create,
    project_update,
    suggestions_accept,
    suggestions_reject,
)

REVIEW_PAGE_SIZE = 100
LIST_PAGE_SIZE = 50
LOW_CONFIDENCE = Decimal("0.60")
ZERO = Decimal(0)


class EmployeeChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class ProjectChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


class UUIDListField(forms.Field):
    """Repeated form values (checkboxes or hidden inputs) that must each be a UUID."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[uuid.UUID]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return [uuid.UUID(str(item)) for item in values]
        except ValueError:
            raise ValidationError("Not a valid id.", code="invalid") from None


def _employee_choices(user: Any, *, active: bool | None = None) -> QuerySet[Employee]:
    return employee_list(user=user, active=active).only("id", "name")


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


# Suggestion review -------------------------------------------------------------------------------------------


class SuggestionFilterForm(forms.Form):
    employee = EmployeeChoiceField(queryset=Employee.objects.none(), required=False, empty_label="All employees")
    project = ProjectChoiceField(queryset=Project.objects.none(), required=False, empty_label="All projects")
    date_from = DateFormField(required=False, label="From", widget=DateInput())
    date_to = DateFormField(required=False, label="To", widget=DateInput())
    confidence_below = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Confidence below (%)", widget=forms.NumberInput()
    )
    confidence_above = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Confidence above (%)", widget=forms.NumberInput()
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_reviewer_user(user):
            self.fields["employee"].queryset = _employee_choices(user)  # type: ignore[attr-defined]
        else:
            del self.fields["employee"]  # others see only their own suggestions anyway
        self.fields["project"].queryset = project_list().only("id", "code", "name")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "Must not be before the start date.")
        return data


@dataclass(frozen=True)
class SuggestionRow:
    suggestion: ProjectAllocationSuggestion
    percent: int
    level: str


def _rows(suggestions: Iterable[ProjectAllocationSuggestion], threshold: Decimal) -> list[SuggestionRow]:
    rows = []
    for suggestion in suggestions:
        confidence = Decimal(suggestion.confidence)
        level = "low" if confidence < LOW_CONFIDENCE else "mid" if confidence < threshold else "high"
        rows.append(SuggestionRow(suggestion=suggestion, percent=int(confidence * 100), level=level))
    return rows


def _threshold(request: HttpRequest) -> Decimal:
    return Decimal(str(getattr(getattr(request, "tenant", None), "auto_accept_threshold", "0.90")))


def _review_context(
    request: HttpRequest, suggestions: QuerySet[ProjectAllocationSuggestion], *, next_url: str
) -> dict[str, Any]:
    page = Paginator(suggestions, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(page.object_list, _threshold(request))
    return {
        "page_obj": page,
        "rows": rows,
        "shown_ids": [row.suggestion.id for row in rows],
        "next_url": next_url,
        "page_query": _query_without(request, "page"),
        "low_confidence_percent": int(LOW_CONFIDENCE * 100),
    }


@login_required
@require_GET
@reads_from_replica
def suggestion_review(request: HttpRequest) -> HttpResponse:
    """Pending suggestions, least confident first: HR reviews the doubtful ones and accepts the rest at once."""
    form = SuggestionFilterForm(request.GET, user=request.user)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    below, above = filters.get("confidence_below"), filters.get("confidence_above")
    suggestions = suggestion_pending_list(
        user=request.user,
        employee_id=filters["employee"].id if filters.get("employee") else None,
        project_id=filters["project"].id if filters.get("project") else None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        confidence_below=None if below is None else Decimal(below) / 100,
        confidence_above=None if above is None else Decimal(above) / 100,
    )
    context = _review_context(request, suggestions, next_url=request.get_full_path())
    context.update(
        form=form,
        show_employee=is_reviewer_user(request.user),
        quick_filter="low" if below == context["low_confidence_percent"] and above is None else "",
        has_filters=any(value not in (None, "") for value in filters.values()),
    )
    return render_page(request, "timesheets/suggestions.html", context)


class DecisionForm(forms.Form):
    ACCEPT, REJECT, ACCEPT_SHOWN = "accept", "reject", "accept_shown"

    action = forms.ChoiceField(
        choices=[(ACCEPT, "Accept selected"), (REJECT, "Reject selected"), (ACCEPT_SHOWN, "Accept all shown")]
    )
    ids = UUIDListField(required=False)
    shown = UUIDListField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen: list[uuid.UUID] = data.get("shown" if data.get("action") == self.ACCEPT_SHOWN else "ids") or []
        if not chosen:
            raise ValidationError("Select at least one suggestion first.")
        if len(chosen) > MAX_DECISION_IDS:
            raise ValidationError(f"At most {MAX_DECISION_IDS} suggestions at once.")
        data["chosen"] = chosen
        data["hours"] = self._corrected_hours(chosen) if data.get("action") != self.REJECT else {}
        return data

    def _corrected_hours(self, chosen: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
        """Hours typed in a row's box (`hours-<id>`): a correction, which the model later learns from."""
        hours: dict[uuid.UUID, Decimal] = {}
        for key in chosen:
            raw = str(self.data.get(f"hours-{key}", "")).strip()
            if not raw:
                continue
            try:
                value = finite_decimal(raw)
            except ValidationError:
                raise ValidationError("Hours must be a number.") from None
            if not ZERO < value <= MAX_DAY_HOURS:
                raise ValidationError("Hours must be more than 0 and at most 24.")
            hours[key] = value
        return hours


_OUTCOME_TEXT = {
    DecisionOutcome.ALREADY_ACCEPTED: "already accepted",
    DecisionOutcome.ALREADY_REJECTED: "already rejected",
    DecisionOutcome.EXPIRED: "expired",
    DecisionOutcome.NOT_PENDING: "no longer pending",
    DecisionOutcome.NOT_FOUND: "not found",
}


def _decision_message(result: DecisionResult, *, verb: str, done: DecisionOutcome) -> str:
    counts = result.counts()
    count = counts[done.value]
    text = f"{verb} {count} suggestion{'s' if count != 1 else ''}."
    others = [f"{counts[outcome.value]} {label}" for outcome, label in _OUTCOME_TEXT.items() if counts[outcome.value]]
    return f"{text} Skipped: {', '.join(others)}." if others else text


@login_required
@require_POST
def suggestion_decide(request: HttpRequest) -> HttpResponse:
    """Accept or reject the ticked suggestions (or all shown) in one service call; back to the same list."""
    back = safe_next(request, "/suggestions")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        malformed = any(name != "__all__" for name in form.errors)
        problems = ["The request was not understood; nothing was changed."] if malformed else form.non_field_errors()
        for error in problems:
            messages.error(request, str(error))
        return redirect(back)
    data = form.cleaned_data
    try:
        if data["action"] == DecisionForm.REJECT:
            result = suggestions_reject(actor=request.user, ids=[str(key) for key in data["chosen"]])
            message = _decision_message(result, verb="Rejected", done=DecisionOutcome.REJECTED)
        else:
            items = [DecisionItem(id=str(key), hours=data["hours"].get(key)) for key in data["chosen"]]
            result = suggestions_accept(actor=request.user, items=items)
            message = _decision_message(result, verb="Accepted", done=DecisionOutcome.ACCEPTED)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect(back)


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
    employee = EmployeeChoiceField(queryset=Employee.objects.none(), required=False, empty_label=None)
    week = WeekField(required=False, widget=forms.TextInput(attrs={"type": "week"}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employee"].queryset = _employee_choices(user)  # type: ignore[attr-defined]


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
    return render_page(request, "timesheets/grid.html", {"form": form, "grid": grid, "show_picker": staff})


# Employees ---------------------------------------------------------------------------------------------------

PII_FIELDS = ("national_id", "bank_account", "salary")


@login_required
@require_GET
@reads_from_replica
def employee_index(request: HttpRequest) -> HttpResponse:
    """Employees; national id, bank account and salary are shown to HR and Admin only."""
    show_inactive = request.GET.get("inactive") == "1"
    employees = employee_list(user=request.user, active=None if show_inactive else True)
    page = Paginator(employees, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "timesheets/employees.html",
        {
            "page_obj": page,
            "show_pii": is_staff_user(request.user),
            "show_inactive": show_inactive,
            "page_query": _query_without(request, "page"),
        },
    )


class EmployeeForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(max_length=254, label="E-mail")
    jira_account_id = forms.CharField(max_length=128, required=False, label="Jira account id")
    weekly_hours = forms.DecimalField(
        max_digits=4, decimal_places=1, min_value=Decimal(0), max_value=Decimal(168), initial=Decimal("40.0")
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
        suggestions = suggestion_pending_list(user=request.user, employee_id=employee.id)
        context.update(_review_context(request, suggestions, next_url=request.get_full_path()))
        context.update(
            grid=week_grid(user=request.user, employee=employee, monday=monday),
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
