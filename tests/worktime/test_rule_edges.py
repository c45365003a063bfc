"""Each preset at the edges of its thresholds, with cases taken from the text of its rule.

A shift is (day, check-in, check-out, break minutes); work is the time between less the break. "Over 6 hours"
in the texts means more than six hours of work: exactly six needs no break, six hours and a minute does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.timesheets.factories import make_employee
from timesheets.models import AttendanceRecord
from worktime.models import ComplianceRuleSet, ComplianceViolation
from worktime.services import compliance_check

MONDAY = date(2026, 3, 2)
Shift = tuple[int, str, str, int]


def _week(hours_per_day: str, days: int = 5, week: int = 0, break_minutes: int = 45) -> list[Shift]:
    """`days` days from Monday of week `week`, starting 07:00, each with `hours_per_day` of work."""
    hours, minutes = (int(part) for part in hours_per_day.split(":"))
    end = datetime(2000, 1, 1, 7) + timedelta(hours=hours, minutes=minutes + break_minutes)
    return [(7 * week + day, "07:00", end.strftime("%H:%M"), break_minutes) for day in range(days)]


def _weeks(count: int, hours_per_day: str, *, last: str | None = None) -> list[Shift]:
    shifts: list[Shift] = []
    for week in range(count):
        shifts += _week(last if last is not None and week == count - 1 else hours_per_day, days=6, week=week)
    return shifts


# (preset, thresholds, shifts, rules broken and on which day offsets)
CASES: dict[str, tuple[str, dict[str, Any], list[Shift], set[tuple[int, str]]]] = {
    # EU Working Time Directive, Art. 4: a break when the working day is longer than six hours (15 min here).
    "eu: six hours need no break": ("eu_wtd", {}, [(0, "09:00", "15:00", 0)], set()),
    "eu: six hours and a minute with 14 min": ("eu_wtd", {}, [(0, "09:00", "15:15", 14)], {(0, "break")}),
    "eu: six hours and a minute with 15 min": ("eu_wtd", {}, [(0, "09:00", "15:16", 15)], set()),
    # Art. 3: eleven consecutive hours of rest in every 24.
    "eu: eleven hours of rest": ("eu_wtd", {}, [(0, "09:00", "20:00", 60), (1, "07:00", "12:00", 0)], set()),
    "eu: ten hours fifty-nine of rest": (
        "eu_wtd",
        {},
        [(0, "09:00", "20:01", 60), (1, "07:00", "12:00", 0)],
        {(1, "daily_rest")},
    ),
    # Art. 6 and 16: a 48 h average over four months (17 weeks); a week of 49 h among 48s tips it over.
    "eu: 48 h every week for 17 weeks": ("eu_wtd", {}, _weeks(17, "8:00"), set()),
    "eu: one hour more in the 17th week": (
        "eu_wtd",
        {},
        _weeks(17, "8:00", last="8:10"),
        {(7 * 16, "weekly_average")},
    ),
    # Arbeitszeitgesetz §4: 30 min over six hours, 45 min over nine; §3: ten hours at most; §5: 11 h rest.
    "de: six hours and a minute with 29 min": ("de_arbzg", {}, [(0, "08:00", "14:30", 29)], {(0, "break")}),
    "de: six hours and a minute with 30 min": ("de_arbzg", {}, [(0, "08:00", "14:31", 30)], set()),
    "de: nine hours with 30 min": ("de_arbzg", {}, [(0, "08:00", "17:30", 30)], set()),
    "de: nine hours fifteen with 30 min": ("de_arbzg", {}, [(0, "08:00", "17:45", 30)], {(0, "break")}),
    "de: nine hours and a minute with 45 min": ("de_arbzg", {}, [(0, "08:00", "17:46", 45)], set()),
    "de: ten hours": ("de_arbzg", {}, [(0, "07:00", "17:45", 45)], set()),
    "de: ten hours and a minute": ("de_arbzg", {}, [(0, "07:00", "17:46", 45)], {(0, "daily_max")}),
    "de: ten and a half hours of rest": (
        "de_arbzg",
        {},
        [(0, "08:00", "18:30", 45), (1, "05:00", "09:00", 0)],
        {(1, "daily_rest")},
    ),
    # Working Time Regulations 1998, reg. 12: 20 min when the working day is more than six hours; reg. 10, 11.
    "uk: six hours and a minute with 20 min": ("uk_wtr", {}, [(0, "09:00", "15:21", 20)], set()),
    "uk: eleven hours of rest": ("uk_wtr", {}, [(0, "09:00", "20:00", 60), (1, "07:00", "12:00", 0)], set()),
    "uk: ten hours of rest": (
        "uk_wtr",
        {},
        [(0, "09:00", "21:00", 60), (1, "07:00", "12:00", 0)],
        {(1, "daily_rest")},
    ),
    "uk: six days in a row": ("uk_wtr", {}, [(day, "09:00", "13:00", 0) for day in range(6)], set()),
    "uk: seven days in a row": (
        "uk_wtr",
        {},
        [(day, "09:00", "13:00", 0) for day in range(7)],
        {(6, "consecutive_days")},
    ),
    # FLSA: overtime for hours past 40 in a workweek; it sets no daily maximum, break or rest.
    "us: 40 h in a week": ("us_flsa", {}, _week("8:00", break_minutes=0), set()),
    "us: 40 h and a quarter": ("us_flsa", {}, _week("8:03", break_minutes=0), {(0, "weekly_overtime")}),
    "us: a long day without a break or rest": (
        "us_flsa",
        {},
        [(0, "06:00", "20:00", 0), (1, "02:00", "10:00", 0)],
        set(),
    ),
    # Custom thresholds: each one alone, at its edge.
    "custom: weekly maximum reached": ("custom", {"weekly_max_hours": "50"}, _week("10:00"), set()),
    "custom: weekly maximum passed": (
        "custom",
        {"weekly_max_hours": "50"},
        _week("10:03"),
        {(0, "weekly_max")},
    ),
    "custom: daily maximum of 8 h passed by a minute": (
        "custom",
        {"daily_max_hours": "8"},
        [(0, "09:00", "17:00", 0), (1, "09:00", "17:01", 0)],
        {(1, "daily_max")},
    ),
    "custom: a second break tier": (
        "custom",
        {"breaks": [{"over_hours": "4", "min_minutes": 10}, {"over_hours": "8", "min_minutes": 40}]},
        [(0, "09:00", "13:00", 0), (1, "09:00", "13:11", 10), (2, "09:00", "17:40", 39), (3, "09:00", "17:40", 40)],
        {(2, "break")},
    ),
    "custom: twelve hours of rest, then eleven fifty-nine": (
        "custom",
        {"min_daily_rest_hours": "12"},
        [(0, "08:00", "18:00", 0), (1, "06:00", "10:00", 0), (2, "22:00", "23:00", 0), (3, "10:59", "12:00", 0)],
        {(3, "daily_rest")},
    ),
    "custom: at most three days in a row": (
        "custom",
        {"max_consecutive_days": 3},
        [(day, "09:00", "10:00", 0) for day in (0, 1, 2, 4, 5, 6, 7)],
        {(7, "consecutive_days")},
    ),
}


def _attendance(handle: TenantHandle, shifts: list[Shift]) -> Any:
    person = make_employee(handle)
    rows = []
    for offset, start, end, break_minutes in shifts:
        day = MONDAY + timedelta(days=offset)
        check_in = datetime.combine(day, datetime.strptime(start, "%H:%M").time(), tzinfo=UTC)
        check_out = datetime.combine(day, datetime.strptime(end, "%H:%M").time(), tzinfo=UTC)
        seconds = Decimal((check_out - check_in - timedelta(minutes=break_minutes)).total_seconds())
        rows.append(
            AttendanceRecord(
                employee=person,
                date=day,
                check_in=check_in,
                check_out=check_out,
                break_minutes=break_minutes,
                worked_hours=(seconds / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            )
        )
    with tenant_context(handle.tenant):
        AttendanceRecord.objects.bulk_create(rows)
    return person


@pytest.mark.parametrize("case", list(CASES))
def test_each_preset_at_the_edge_of_its_thresholds(alpha: TenantHandle, case: str) -> None:
    preset, thresholds, shifts, broken = CASES[case]
    person = _attendance(alpha, shifts)
    last = MONDAY + timedelta(days=max(offset for offset, *_ in shifts))
    with tenant_context(alpha.tenant):
        ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": preset, "thresholds": thresholds})
        compliance_check(actor=None, date_from=MONDAY, date_to=last)
        found = {
            ((row_date - MONDAY).days, rule)
            for row_date, rule in ComplianceViolation.objects.filter(employee=person).values_list("date", "rule")
        }

    assert found == broken, case
