"""The review page: pending suggestions in the context of their day, decided row by row or the confident bulk at once.

- Filters that cannot fail silently: an invalid filter shows its error and no rows, never every row.
- The confident bulk ("every suggestion at or above N % in these filters") is accepted on the server in one action,
  after a confirmation page that shows its count and hours, and can be undone from the page it returns to.
- Each row shows the day's attended hours, its other shares and the total; typing hours ticks the row; Enter in an
  hours box submits nothing (the form's default button is disabled); a rejected form keeps what was typed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.formats import date_format, number_format
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError
from core.fields import DateFormField, hours_decimal
from core.replica import reads_from_replica
from core.roles import is_reviewer_user, is_staff_user
from core.ui import DateInput, render_page, safe_next, staff_required
from timesheets.models import AcceptanceBatch, Employee, Project
from timesheets.pickers import PICKER_OPTIONS, EmployeePickerField, picker_label
from timesheets.selectors import (
    DayContext,
    employee_list,
    project_list,
    suggestion_day_contexts,
    suggestion_pending_list,
    suggestion_week_groups,
    tenant_auto_accept_threshold,
    tenant_today,
)
from timesheets.services import (
    MAX_DAY_HOURS,
    MAX_DECISION_IDS,
    ConfidentCriteria,
    DecisionItem,
    DecisionOutcome,
    DecisionResult,
    acceptance_batch_undo,
    suggestions_accept,
    suggestions_accept_confident,
    suggestions_confident_summary,
    suggestions_reject,
)

REVIEW_PAGE_SIZE = 100
LOW_CONFIDENCE = Decimal("0.60")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


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


def _day(day: date) -> str:
    """A day as the pages write it: weekday and the tenant locale's date ("Mon 02.03.2026")."""
    return f"{date_format(day, 'D')} {date_format(day)}"


def _percent_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=0, max_value=100, label=label, widget=forms.NumberInput())


class SuggestionFilterForm(forms.Form):
    employee = EmployeePickerField(required=False)
    project = ProjectChoiceField(queryset=Project.objects.none(), required=False, empty_label="All projects")
    date_from = DateFormField(required=False, label="From", widget=DateInput())
    date_to = DateFormField(required=False, label="To", widget=DateInput())
    min_confidence = _percent_field("Confidence at least (%)")
    confidence_below = _percent_field("Confidence below (%)")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_reviewer_user(user):
            self.fields["employee"].user = user  # type: ignore[attr-defined]
        else:
            del self.fields["employee"]  # others see only their own suggestions anyway
        self.fields["project"].queryset = project_list().only("id", "code", "name")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "Must not be before the start date.")
        return data


@dataclass(frozen=True)
class Filters:
    """The review's filters once valid; `ok` is False when any was invalid (and then no row is shown)."""

    ok: bool
    employee: Employee | None = None
    project: Project | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_confidence: int | None = None
    confidence_below: int | None = None

    @property
    def any(self) -> bool:
        return any(value is not None for value in (self.employee, self.project, self.date_from, self.date_to)) or (
            self.min_confidence is not None or self.confidence_below is not None
        )

    def summary(self) -> list[str]:
        """The active filters in words, shown beside the bulk buttons."""
        parts = [self.employee.name if self.employee else "all employees"]
        parts.append(self.project.code if self.project else "all projects")
        if self.date_from and self.date_to:
            parts.append(f"{_day(self.date_from)} to {_day(self.date_to)}")
        elif self.date_from:
            parts.append(f"from {_day(self.date_from)}")
        elif self.date_to:
            parts.append(f"until {_day(self.date_to)}")
        else:
            parts.append("all dates")
        if self.min_confidence is not None:
            parts.append(f"confidence at least {self.min_confidence} %")
        if self.confidence_below is not None:
            parts.append(f"confidence below {self.confidence_below} %")
        return parts

    def criteria(self, threshold: Decimal) -> ConfidentCriteria:
        """What the confident bulk takes: these filters, at the asked confidence or the tenant's threshold."""
        floor = threshold if self.min_confidence is None else max(Decimal(self.min_confidence) / HUNDRED, threshold)
        return ConfidentCriteria(
            min_confidence=floor,
            employee_id=self.employee.id if self.employee else None,
            project_id=self.project.id if self.project else None,
            date_from=self.date_from,
            date_to=self.date_to,
        )


def _filters(form: SuggestionFilterForm) -> Filters:
    if not form.is_valid():
        return Filters(ok=False)
    data = form.cleaned_data
    return Filters(
        ok=True,
        employee=data.get("employee"),
        project=data.get("project"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        min_confidence=data.get("min_confidence"),
        confidence_below=data.get("confidence_below"),
    )


@dataclass(frozen=True)
class ReviewRow:
    suggestion: Any
    percent: int
    level: str
    day: DayContext
    typed: str
    ticked: bool

    @property
    def others(self) -> list[Any]:
        return self.day.others(self.suggestion.id)

    @property
    def gap(self) -> Decimal | None:
        """Attended minus the day's total (positive: hours still to place; negative: over-allocated)."""
        return None if self.day.attended is None else self.day.attended - self.day.total


def _level(confidence: Decimal, threshold: Decimal) -> str:
    return "low" if confidence < LOW_CONFIDENCE else "mid" if confidence < threshold else "high"


def _quick_links(query: QueryDict, today: date, threshold_percent: int) -> list[dict[str, Any]]:
    """Quick filters that combine with the others: this week, confident, doubtful; and all pending."""
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)

    def link(label: str, key: str, changes: Mapping[str, str | None]) -> dict[str, Any]:
        params = query.copy()
        params.pop("page", None)
        params.pop("batch", None)
        for name, value in changes.items():
            params.pop(name, None)
            if value is not None:
                params[name] = value
        current = all(query.get(name) == value for name, value in changes.items() if value is not None)
        return {"label": label, "key": key, "href": f"/suggestions?{params.urlencode()}", "current": current}

    return [
        link("This week", "week", {"date_from": monday.isoformat(), "date_to": sunday.isoformat()}),
        link(
            f"Confident (at least {threshold_percent} %)",
            "confident",
            {"min_confidence": str(threshold_percent), "confidence_below": None},
        ),
        link(
            f"Doubtful (below {int(LOW_CONFIDENCE * 100)} %)",
            "doubtful",
            {"confidence_below": str(int(LOW_CONFIDENCE * 100)), "min_confidence": None},
        ),
    ]


def review_context(
    request: HttpRequest,
    query: QueryDict,
    *,
    typed: Mapping[str, str] | None = None,
    ticked: Sequence[str] = (),
    path: str = "/suggestions",
) -> dict[str, Any]:
    form = SuggestionFilterForm(query, user=request.user)
    filters = _filters(form)
    threshold = tenant_auto_accept_threshold()
    threshold_percent = int(threshold * HUNDRED)
    today = tenant_today()
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "show_employee": is_reviewer_user(request.user),
        "threshold_percent": threshold_percent,
        "low_confidence_percent": int(LOW_CONFIDENCE * 100),
        "quick_links": _quick_links(query, today, threshold_percent),
        "filter_query": _query_without(query, "page", "batch"),
        "rows": [],
        "page_obj": None,
    }
    if not filters.ok:
        return context  # an invalid filter shows its error and no rows: never "every row" by accident
    chosen = functools.partial(
        suggestion_pending_list,
        user=request.user,
        employee_id=filters.employee.id if filters.employee else None,
        project_id=filters.project.id if filters.project else None,
        date_from=filters.date_from,
        date_to=filters.date_to,
        confidence_below=None if filters.confidence_below is None else Decimal(filters.confidence_below) / HUNDRED,
        confidence_above=None,
        today=today,
    )
    suggestions, plain = chosen(), chosen(named=False)
    if filters.min_confidence is not None:
        suggestions = suggestions.filter(confidence__gte=Decimal(filters.min_confidence) / HUNDRED)
        plain = plain.filter(confidence__gte=Decimal(filters.min_confidence) / HUNDRED)
    context["by_week"] = query.get("view") == "weeks"
    context["view_links"] = {
        "lines": f"{path}?{_query_without(query, 'page', 'batch', 'view')}",
        "weeks": f"{path}?{_query_without(query, 'page', 'batch', 'view')}&view=weeks",
    }
    context["next_url"] = f"{path}?{_query_without(query, 'batch')}"
    if context["by_week"]:
        _week_groups_into(context, request=request, query=query, suggestions=suggestions, threshold=threshold)
    else:
        _rows_into(
            context,
            request=request,
            query=query,
            suggestions=suggestions,
            threshold=threshold,
            typed=typed or {},
            ticked=set(ticked),
            counted=plain.count(),
        )
    if is_staff_user(request.user):
        criteria = filters.criteria(threshold)
        context["confident"] = suggestions_confident_summary(user=request.user, criteria=criteria)
        context["confident_percent"] = int(criteria.min_confidence * HUNDRED)
        context["batch"] = _batch_shown(query.get("batch"))
    return context


WEEKS_PER_PAGE = 20


def _week_groups_into(
    context: dict[str, Any], *, request: HttpRequest, query: QueryDict, suggestions: Any, threshold: Decimal
) -> None:
    """The filtered suggestions as employee-weeks: each day's whole split, doubtful rows marked."""
    try:
        number = max(1, int(str(query.get("page") or 1)))
    except ValueError:
        number = 1
    total, groups = suggestion_week_groups(
        suggestions=suggestions,
        user=request.user,
        offset=(number - 1) * WEEKS_PER_PAGE,
        limit=WEEKS_PER_PAGE,
        today=tenant_today(),
    )
    context["groups"] = groups
    context["group_total"] = total
    context["group_page"] = number
    context["group_pages"] = max(1, -(-total // WEEKS_PER_PAGE))
    context["threshold"] = threshold
    context["low_confidence"] = LOW_CONFIDENCE
    context["page_query"] = _query_without(query, "page")


def _rows_into(
    context: dict[str, Any],
    *,
    request: HttpRequest,
    query: QueryDict,
    suggestions: Any,
    threshold: Decimal,
    typed: Mapping[str, str],
    ticked: set[str],
    counted: int,
) -> None:
    """The filtered suggestions as line items, a page of them, each with its day; what was typed kept."""
    paginator = Paginator(suggestions, REVIEW_PAGE_SIZE)
    paginator.count = counted  # counted without the joins that only name the rows
    page = paginator.get_page(query.get("page"))
    shown = list(page.object_list)
    days = suggestion_day_contexts(
        user=request.user, days=[(s.employee_id, s.date) for s in shown], today=tenant_today()
    )
    context["rows"] = [
        ReviewRow(
            suggestion=s,
            percent=int(Decimal(s.confidence) * HUNDRED),
            level=_level(Decimal(s.confidence), threshold),
            day=days[(s.employee_id, s.date)],
            typed=typed.get(str(s.id), number_format(s.hours)),
            ticked=str(s.id) in ticked,
        )
        for s in shown
    ]
    context["page_obj"] = page
    context["page_query"] = _query_without(query, "page")


def _batch_shown(value: str | None) -> AcceptanceBatch | None:
    try:
        key = uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
    return AcceptanceBatch.objects.filter(id=key).first() if key else None


def _query_without(query: QueryDict, *names: str) -> str:
    params = query.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@login_required
@require_GET
@reads_from_replica
def suggestion_review(request: HttpRequest) -> HttpResponse:
    """Pending suggestions with their day around them; the confident bulk accepted in one action."""
    context = review_context(request, request.GET)
    return render_page(request, "timesheets/suggestions.html", context)


# Deciding rows -----------------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    ACCEPT, REJECT, ACCEPT_SHOWN = "accept", "reject", "accept_shown"

    action = forms.ChoiceField(
        required=False,
        choices=[(ACCEPT, "Accept selected"), (REJECT, "Reject selected"), (ACCEPT_SHOWN, "Accept all shown")],
    )
    # A row's own button: "accept:<id>" or "reject:<id>".
    row = forms.CharField(required=False, max_length=60)
    ids = UUIDListField(required=False)
    shown = UUIDListField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action, chosen = self._action_and_ids(data)
        if not chosen:
            raise ValidationError("Select at least one suggestion first.")
        if len(chosen) > MAX_DECISION_IDS:
            raise ValidationError(f"At most {MAX_DECISION_IDS} suggestions at once.")
        data["action"], data["chosen"] = action, chosen
        data["hours"] = self._corrected_hours(chosen) if action != self.REJECT else {}
        return data

    def _action_and_ids(self, data: dict[str, Any]) -> tuple[str, list[uuid.UUID]]:
        row = str(data.get("row") or "")
        if row:
            verb, _, key = row.partition(":")
            try:
                target = uuid.UUID(key)
            except ValueError:
                raise ValidationError("The request was not understood; nothing was changed.") from None
            if verb not in (self.ACCEPT, self.REJECT):
                raise ValidationError("The request was not understood; nothing was changed.")
            return verb, [target]
        action = str(data.get("action") or "")
        if not action:
            raise ValidationError("Choose an action: accept or reject.")
        return action, list(data.get("shown" if action == self.ACCEPT_SHOWN else "ids") or [])

    def _corrected_hours(self, chosen: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
        """Hours typed in a row's box (`hours-<id>`): a correction, which the model later learns from."""
        hours: dict[uuid.UUID, Decimal] = {}
        for key in chosen:
            raw = str(self.data.get(f"hours-{key}", "")).strip()
            if not raw:
                continue
            try:
                value = hours_decimal(raw)
            except ValidationError:
                raise ValidationError(f"Hours must be a number (you typed “{raw[:20]}”).") from None
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


def _typed_hours(request: HttpRequest) -> dict[str, str]:
    return {name[len("hours-") :]: str(value)[:20] for name, value in request.POST.items() if name.startswith("hours-")}


@login_required
@require_POST
def suggestion_decide(request: HttpRequest) -> HttpResponse:
    """Accept or reject the ticked suggestions, one row, or all shown, in one service call; back to the same list.

    A form that cannot be acted on is shown again with its error, what was typed and what was ticked.
    """
    back = safe_next(request, "/suggestions")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        malformed = any(name != "__all__" for name in form.errors)
        problems = ["The request was not understood; nothing was changed."] if malformed else form.non_field_errors()
        for error in problems:
            messages.error(request, str(error))
        query = QueryDict(urlsplit(back).query)
        context = review_context(request, query, typed=_typed_hours(request), ticked=request.POST.getlist("ids"))
        return render_page(request, "timesheets/suggestions.html", context)
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


# The confident bulk -------------------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def suggestion_accept_confident(request: HttpRequest) -> HttpResponse:
    """GET: what the confident bulk of these filters would accept (count, hours, people). POST: accept it."""
    query = request.GET if request.method == "GET" else request.POST
    form = SuggestionFilterForm(query, user=request.user)
    filters = _filters(form)
    back = f"/suggestions?{_query_without(query, 'page', 'batch', 'csrfmiddlewaretoken')}"
    if not filters.ok:
        messages.error(request, "Correct the filters first; nothing was accepted.")
        return redirect(back)
    criteria = filters.criteria(tenant_auto_accept_threshold())
    if request.method == "GET":
        summary = suggestions_confident_summary(user=request.user, criteria=criteria)
        return render_page(
            request,
            "timesheets/accept_confident.html",
            {
                "summary": summary,
                "percent": int(criteria.min_confidence * HUNDRED),
                "filters": filters,
                "hidden": [(name, value) for name, value in query.items() if name not in ("page", "batch")],
                "back": back,
            },
        )
    try:
        batch = suggestions_accept_confident(actor=request.user, criteria=criteria)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    plural = "s" if batch.accepted != 1 else ""
    messages.success(request, f"Accepted {batch.accepted} suggestion{plural} ({number_format(batch.hours)} h).")
    separator = "&" if "?" in back and not back.endswith("?") else ""
    return redirect(f"{back}{separator}{urlencode({'batch': str(batch.id)})}")


@staff_required
@require_POST
def suggestion_batch_undo(request: HttpRequest, batch_id: uuid.UUID) -> HttpResponse:
    back = safe_next(request, "/suggestions")
    try:
        result = acceptance_batch_undo(actor=request.user, batch_id=batch_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        kept = f" {result.kept} edited since were kept." if result.kept else ""
        messages.success(request, f"Undone: {result.reverted} suggestions are pending again.{kept}")
    return redirect(back)


@login_required
@require_GET
@reads_from_replica
def employee_options(request: HttpRequest) -> HttpResponse:
    """The people picker's suggestions for what was typed: `<option>`s of "Name <e-mail>", at most 20."""
    text = str(request.GET.get("employee") or request.GET.get("q") or "")[:100]
    employees = employee_list(user=request.user, search=text, active=True).only("name", "email")[:PICKER_OPTIONS]
    return render_page(request, "timesheets/_employee_options.html", {"labels": [picker_label(e) for e in employees]})


class WeekAcceptForm(forms.Form):
    employee = forms.UUIDField()
    monday = DateFormField()

    def clean_monday(self) -> date:
        monday: date = self.cleaned_data["monday"]
        if monday.weekday() != 0:
            raise ValidationError("A week starts on a Monday.")
        return monday


@staff_required
@require_POST
def suggestion_accept_week(request: HttpRequest) -> HttpResponse:
    """Accept every pending suggestion of one employee's week as they stand, as one undoable batch."""
    back = safe_next(request, "/suggestions?view=weeks")
    form = WeekAcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The request was not understood; nothing was changed.")
        return redirect(back)
    monday = form.cleaned_data["monday"]
    criteria = ConfidentCriteria(
        min_confidence=ZERO,
        employee_id=form.cleaned_data["employee"],
        date_from=monday,
        date_to=monday + timedelta(days=6),
    )
    try:
        batch = suggestions_accept_confident(actor=request.user, criteria=criteria)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        f"Accepted the week: {batch.accepted} suggestion{'s' if batch.accepted != 1 else ''}"
        f" ({number_format(batch.hours)} h).",
    )
    separator = "&" if "?" in back else "?"
    return redirect(f"{back}{separator}{urlencode({'batch': str(batch.id)})}")
