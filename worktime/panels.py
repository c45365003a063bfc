"""Working time's panels on the timesheet pages (core/panels.py): violations, and hours with the flexitime balance.

Timesheets sits below working time and cannot import it; its templates name extension points instead and these
panels fill them. Every panel scopes what it shows itself: HR and Admin see the employee the page shows (or
everyone, on the review page), anyone else only their own record.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from core.panels import panel_register
from core.roles import is_staff_user
from timesheets.lifecycle import may_decide_week
from timesheets.models import Employee
from timesheets.selectors import employee_for_user, tenant_today
from worktime.models import ComplianceViolation
from worktime.selectors import flexitime_balance, violation_list

# The review page lists many people: the panel shows the most recent violations and links to the rest.
MAX_VIOLATIONS_SHOWN = 20
DEFAULT_DAYS = 14
# Pages of timesheets with an extension point. A week is approved on the timesheet grid, beside these panels.
TIMESHEET_PAGES = ("my-week", "timesheet-grid", "suggestions")
WEEK_PAGES = ("my-week", "timesheet-grid")


def _scope(request: HttpRequest, employee: Any) -> tuple[bool, list[Employee] | None]:
    """(visible, employees): None means everyone (HR and Admin without a chosen employee)."""
    if is_staff_user(request.user):
        return True, None if not isinstance(employee, Employee) else [employee]
    own = employee_for_user(user=request.user)
    if own is None or (isinstance(employee, Employee) and employee.id != own.id):
        return False, []
    return True, [own]


def _period(start: Any, end: Any) -> tuple[date, date]:
    if isinstance(start, date) and isinstance(end, date) and start <= end:
        return start, end
    if isinstance(start, date):
        return start, start + timedelta(days=DEFAULT_DAYS - 1)
    last = end if isinstance(end, date) else tenant_today()
    return last - timedelta(days=DEFAULT_DAYS - 1), last


def violations_panel(
    request: HttpRequest, *, employee: Any = None, start: Any = None, end: Any = None, **_: Any
) -> str:
    visible, employees = _scope(request, employee)
    if not visible:
        return ""
    date_from, date_to = _period(start, end)
    found = violation_list(
        employee_ids=None if employees is None else [person.id for person in employees],
        date_from=date_from,
        date_to=date_to,
    )
    rows = list(found[: MAX_VIOLATIONS_SHOWN + 1])
    return render_to_string(
        "worktime/_violations_panel.html",
        {
            "violations": rows[:MAX_VIOLATIONS_SHOWN],
            "more": len(rows) > MAX_VIOLATIONS_SHOWN,
            "date_from": date_from,
            "date_to": date_to,
            "many_people": employees is None,
            "acknowledgers": {person.id for person in _deciders(request, rows)},
            "compliance_page": is_staff_user(request.user),
            "next_url": request.get_full_path(),
        },
        request=request,
    )


def _deciders(request: HttpRequest, violations: list[ComplianceViolation]) -> list[Employee]:
    """The employees among these whose violations the user may acknowledge (those whose weeks they approve)."""
    people = {violation.employee_id: violation.employee for violation in violations}
    return [person for person in people.values() if may_decide_week(request.user, person)]


def hours_panel(request: HttpRequest, *, employee: Any = None, start: Any = None, end: Any = None, **_: Any) -> str:
    visible, employees = _scope(request, employee)
    if not visible or not employees:
        return ""
    person = employees[0]
    date_from, date_to = _period(start, end)
    return render_to_string(
        "worktime/_hours_panel.html",
        {
            "person": person,
            "account": flexitime_balance(employee_id=person.id, date_from=date_from, date_to=date_to),
            "date_from": date_from,
            "date_to": date_to,
        },
        request=request,
    )


def panels_register() -> None:
    for page in TIMESHEET_PAGES:
        panel_register(page, name="worktime-violations", render=violations_panel, order=10)
    for page in WEEK_PAGES:
        panel_register(page, name="worktime-hours", render=hours_panel, order=20)
