"""Days needing attention: each kind of day found once, from real attendance, allocations, suggestions and calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle, make_user
from tests.timesheets.factories import make_allocation, make_attendance, make_employee, make_project, make_suggestion
from worktime.attention import AttentionKind, attention_days
from worktime.models import CompanyDayOff, WorkCalendar

# Mon 2 to Fri 6 March 2026; no public holiday in the calendar's country that week.
MONDAY = date(2026, 3, 2)


def _kinds(handle: TenantHandle, user: Any, **kwargs: Any) -> dict[tuple[str, date], str]:
    with tenant_context(handle.tenant):
        return {
            (day.employee_name, day.date): day.kind.value
            for day in attention_days(user=user, date_from=MONDAY, date_to=date(2026, 3, 8), **kwargs)
        }


def test_every_kind_of_day_is_found_and_a_day_that_adds_up_is_not(alpha: TenantHandle) -> None:
    hr = make_user(alpha, "attention-hr@alpha.test", "HR")
    ann = make_employee(alpha, name="Ann")
    apollo, hermes = make_project(alpha, code="APOLLO"), make_project(alpha, code="HERMES")
    with tenant_context(alpha.tenant):
        WorkCalendar.objects.update_or_create(defaults={"country": "GB", "subdivision": ""})
        CompanyDayOff.objects.create(date=date(2026, 3, 6), name="Company outing")
    # Monday adds up: 8 attended = 5 allocated + 3 suggested.
    make_attendance(alpha, ann, day=MONDAY, hours=8)
    make_allocation(alpha, ann, apollo, day=MONDAY, hours="5.00")
    make_suggestion(alpha, ann, hermes, day=MONDAY, hours="3.00", expiry_date=date(2099, 1, 1))
    # Tuesday: attended, nothing allocated or suggested.
    make_attendance(alpha, ann, day=date(2026, 3, 3), hours=8)
    # Wednesday: under-allocated (6 of 8); Thursday: over-allocated (10 for 8).
    make_attendance(alpha, ann, day=date(2026, 3, 4), hours=8)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 4), hours="6.00")
    make_attendance(alpha, ann, day=date(2026, 3, 5), hours=8)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 5), hours="10.00")
    # Friday is a company day off, and Ann worked on it.
    make_attendance(alpha, ann, day=date(2026, 3, 6), hours=4)
    # Bob recorded nothing all week: every working day is missing; the day off and the weekend are not.
    make_employee(alpha, name="Bob")

    found = _kinds(alpha, hr)
    assert {key: kind for key, kind in found.items() if key[0] == "Ann"} == {
        ("Ann", date(2026, 3, 3)): AttentionKind.NO_SUGGESTION,
        ("Ann", date(2026, 3, 4)): AttentionKind.UNDER_ALLOCATED,
        ("Ann", date(2026, 3, 5)): AttentionKind.OVER_ALLOCATED,
        ("Ann", date(2026, 3, 6)): AttentionKind.WORKED_DAY_OFF,
    }
    assert sorted(day for name, day in found if name == "Bob") == [date(2026, 3, d) for d in (2, 3, 4, 5)]
    assert _kinds(alpha, hr, kinds=frozenset({AttentionKind.OVER_ALLOCATED})) == {
        ("Ann", date(2026, 3, 5)): AttentionKind.OVER_ALLOCATED
    }


def test_an_employee_sees_only_their_own_days_and_nobody_else_sees_any(alpha: TenantHandle) -> None:
    login = make_user(alpha, "attention-emp@alpha.test", "Employee")
    make_employee(alpha, name="Own", user=login)
    make_employee(alpha, name="Other")
    assert {name for name, _ in _kinds(alpha, login)} == {"Own"}
    assert _kinds(alpha, AnonymousUser()) == {}
