"""Expected hours and the flexitime account of every employee at once, in SQL: for the reports and the payroll
export. The same rules as worktime.selectors.expected_days and flexitime_balance (per employee, in Python), which
the tests compare them with."""

# ruff: noqa: S608 - the SQL is joined from constant text; every value is a bound parameter.

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

from timesheets.models import AttendanceRecord
from worktime.models import Contract
from worktime.selectors import _public_holidays, calendar_get

ZERO = Decimal(0)


@dataclass(frozen=True)
class HoursTotals:
    expected: Decimal
    leave: Decimal
    worked: Decimal


def _holiday_arrays(date_from: date, date_to: date) -> tuple[list[str], list[str], list[date]]:
    """Public holidays of every location in use (the company's and the contracts' own), as three parallel arrays."""
    calendar = calendar_get()
    locations = {(calendar.country, calendar.subdivision)} | set(
        Contract.objects.exclude(country="").values_list("country", "subdivision").distinct()
    )
    countries: list[str] = []
    subdivisions: list[str] = []
    days: list[date] = []
    for country, subdivision in sorted(locations):
        for year in range(date_from.year, date_to.year + 1):
            for day in _public_holidays(country, subdivision, year):
                if date_from <= day <= date_to:
                    countries.append(country)
                    subdivisions.append(subdivision)
                    days.append(day)
    return countries, subdivisions, days


# The rules of expected_days as SQL over an `employee_days (employee_id, day, default_weekly)` relation the caller
# defines first (default_weekly: the employee's weekly_hours, for days without a contract):
# `with_leave` holds each employee-day's expected hours after holidays and days off (`hours`) and its leave.
_EXPECTED_DAY_CTES = """
holidays AS (
    SELECT * FROM unnest(%(h_country)s::text[], %(h_subdivision)s::text[], %(h_day)s::date[])
        AS h(country, subdivision, day)
), grid AS (
    SELECT ed.employee_id, ed.day, ed.default_weekly, c.id AS contract_id,
           c.weekly_hours, c.work_days, c.daily_hours,
           CASE WHEN coalesce(c.country, '') = '' THEN %(country)s ELSE c.country END AS country,
           CASE WHEN coalesce(c.country, '') = '' THEN %(subdivision)s ELSE c.subdivision END AS subdivision
    FROM employee_days ed
    LEFT JOIN worktime_contract c
           ON c.employee_id = ed.employee_id AND c.starts_on <= ed.day AND (c.ends_on IS NULL OR c.ends_on >= ed.day)
), scheduled AS (
    SELECT g.employee_id, g.day, g.country, g.subdivision,
           CASE
             WHEN g.contract_id IS NULL OR jsonb_array_length(g.work_days) = 0 THEN
               CASE WHEN extract(isodow FROM g.day) <= 5
                    THEN round(coalesce(g.weekly_hours, g.default_weekly) / 5, 2) ELSE 0 END
             WHEN g.work_days @> to_jsonb(extract(isodow FROM g.day)::int) THEN
               coalesce(g.daily_hours, round(g.weekly_hours / jsonb_array_length(g.work_days), 2))
             ELSE 0
           END AS hours
    FROM grid g
), remaining AS (
    SELECT s.employee_id, s.day,
           s.hours - CASE
             WHEN h.day IS NOT NULL THEN s.hours
             WHEN o.date IS NOT NULL AND o.half_day THEN round(s.hours / 2, 2)
             WHEN o.date IS NOT NULL THEN s.hours
             ELSE 0
           END AS hours
    FROM scheduled s
    LEFT JOIN holidays h ON h.country = s.country AND h.subdivision = s.subdivision AND h.day = s.day
    LEFT JOIN worktime_companydayoff o ON o.date = s.day
), with_leave AS (
    SELECT r.employee_id, r.day, r.hours,
           CASE
             WHEN l.id IS NULL THEN 0
             WHEN l.portion = 'full_day' THEN r.hours
             WHEN l.portion = 'half_day' THEN round(r.hours / 2, 2)
             ELSE least(r.hours, l.hours)
           END AS leave
    FROM remaining r
    LEFT JOIN worktime_leaverecord l
           ON l.employee_id = r.employee_id AND l.status = 'approved' AND r.day BETWEEN l.start_date AND l.end_date
)"""

# Every active employee over the period: one statement over employees and days.
_EXPECTED_TOTALS_SQL = (
    """
WITH employee_days AS (
    SELECT e.id AS employee_id, d::date AS day, e.weekly_hours AS default_weekly
    FROM timesheets_employee e
    CROSS JOIN generate_series(%(date_from)s::date, %(date_to)s::date, interval '1 day') d
    WHERE e.active
),"""
    + _EXPECTED_DAY_CTES
    + """
SELECT employee_id, sum(hours - leave), sum(leave) FROM with_leave GROUP BY employee_id
"""
)

# The flexitime account of every active employee (flexitime_balance's rules): each one's days run from the day
# the account opened (first contract or first attendance, whichever is earlier) or the period's start, if earlier.
_FLEXITIME_TOTALS_SQL = (
    """
WITH opened AS (
    SELECT e.id AS employee_id, e.weekly_hours AS default_weekly,
           least((SELECT min(c.starts_on) FROM worktime_contract c WHERE c.employee_id = e.id),
                 (SELECT min(a.date) FROM timesheets_attendancerecord a WHERE a.employee_id = e.id)) AS opens
    FROM timesheets_employee e
    WHERE e.active
), employee_days AS (
    SELECT o.employee_id, d::date AS day, o.default_weekly
    FROM opened o
    CROSS JOIN LATERAL generate_series(
        least(coalesce(o.opens, %(date_from)s::date), %(date_from)s::date), %(date_to)s::date, interval '1 day'
    ) d
),"""
    + _EXPECTED_DAY_CTES
    + """
, due AS (
    SELECT w.employee_id,
           sum(w.hours - w.leave) FILTER (WHERE w.day >= %(date_from)s) AS expected,
           sum(w.leave) FILTER (WHERE w.day >= %(date_from)s) AS leave,
           sum(w.hours - w.leave) FILTER (WHERE w.day < %(date_from)s) AS expected_before,
           sum(w.hours - w.leave) FILTER (WHERE w.day >= %(date_from)s AND w.day >= o.opens) AS expected_counted
    FROM with_leave w
    JOIN opened o ON o.employee_id = w.employee_id
    GROUP BY w.employee_id
), worked AS (
    -- No attendance precedes the day an account opens, so it needs no day-by-day join.
    SELECT a.employee_id,
           sum(a.worked_hours) FILTER (WHERE a.date >= %(date_from)s) AS worked,
           sum(a.worked_hours) FILTER (WHERE a.date < %(date_from)s) AS worked_before
    FROM timesheets_attendancerecord a
    WHERE a.date <= %(date_to)s
    GROUP BY a.employee_id
)
SELECT d.employee_id, o.opens, coalesce(d.expected, 0), coalesce(d.leave, 0), coalesce(w.worked, 0),
       coalesce(w.worked_before, 0) - coalesce(d.expected_before, 0),
       coalesce(w.worked, 0) - coalesce(d.expected_counted, 0)
FROM due d
JOIN opened o ON o.employee_id = d.employee_id
LEFT JOIN worked w ON w.employee_id = d.employee_id
"""
)


def _expected_params(date_from: date, date_to: date, *, holidays_from: date | None = None) -> dict[str, Any]:
    calendar = calendar_get()
    countries, subdivisions, days = _holiday_arrays(holidays_from or date_from, date_to)
    return {
        "date_from": date_from,
        "date_to": date_to,
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "h_country": countries,
        "h_subdivision": subdivisions,
        "h_day": days,
    }


def expected_totals(*, date_from: date, date_to: date) -> dict[uuid.UUID, HoursTotals]:
    """Per active employee: expected, leave and worked hours of the period, in two statements (reports)."""
    params = _expected_params(date_from, date_to)
    with connection.cursor() as cursor:
        cursor.execute(_EXPECTED_TOTALS_SQL, params)
        due = {employee_id: (Decimal(expected), Decimal(leave)) for employee_id, expected, leave in cursor.fetchall()}
        cursor.execute(
            "SELECT employee_id, sum(worked_hours) FROM timesheets_attendancerecord"
            " WHERE date BETWEEN %(date_from)s AND %(date_to)s GROUP BY employee_id",
            params,
        )
        worked = {employee_id: Decimal(hours) for employee_id, hours in cursor.fetchall()}
    return {
        employee_id: HoursTotals(expected=expected, leave=leave, worked=worked.get(employee_id, ZERO))
        for employee_id, (expected, leave) in due.items()
    }


@dataclass(frozen=True)
class FlexitimeTotals:
    """flexitime_balance's figures without the days: what the week and the grid show, for one employee."""

    opens: date | None
    expected: Decimal
    leave: Decimal
    worked: Decimal
    carried_in: Decimal
    change: Decimal

    @property
    def overtime(self) -> Decimal:
        """Worked beyond expected in the period (negative when short), as the week's panel shows it."""
        return self.worked - self.expected

    @property
    def carried_out(self) -> Decimal:
        return self.carried_in + self.change


def flexitime_totals(*, date_from: date, date_to: date) -> dict[uuid.UUID, FlexitimeTotals]:
    """Per active employee, in one statement: the period's expected, leave and worked hours and the flexitime
    balance brought into and carried out of it, equal to flexitime_balance's (the payroll export).

    The work is proportional to each employee's days since their account opened, not just the period's."""
    opens_at = (
        Contract.objects.order_by("starts_on").values_list("starts_on", flat=True).first(),
        AttendanceRecord.objects.order_by("date").values_list("date", flat=True).first(),
    )
    earliest = min([day for day in opens_at if day is not None], default=date_from)
    # Holidays of every year an account may reach back to.
    params = _expected_params(date_from, date_to, holidays_from=min(earliest, date_from))
    with connection.cursor() as cursor:
        cursor.execute(_FLEXITIME_TOTALS_SQL, params)
        rows = cursor.fetchall()
    return {
        employee_id: FlexitimeTotals(
            opens=opens,
            expected=Decimal(expected),
            leave=Decimal(leave),
            worked=Decimal(worked),
            carried_in=Decimal(carried_in),
            change=Decimal(change),
        )
        for employee_id, opens, expected, leave, worked, carried_in, change in rows
    }
