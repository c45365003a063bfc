"""Report figures, each computed by SQL aggregation over the period (the raw rows never reach Python)."""

from __future__ import annotations

# ruff: noqa: S608 - table and column names come from this module's constants; every value is a bound parameter.
import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection

from core.fields import DATE_MAX
from worktime.totals import expected_totals

ZERO = Decimal(0)
TWO_PLACES = Decimal("0.01")

# What hours can be grouped by, and the SQL expression of each key and label.
GROUPINGS: dict[str, tuple[str, str]] = {
    "project": ("p.id::text", "p.code || ' ' || p.name"),
    "client": ("coalesce(nullif(p.client, ''), '(no client)')", "coalesce(nullif(p.client, ''), '(no client)')"),
    "cost_centre": (
        "coalesce(nullif(p.cost_centre, ''), '(none)')",
        "coalesce(nullif(p.cost_centre, ''), '(none)')",
    ),
    "employee": ("e.id::text", "e.name"),
}


@dataclass(frozen=True)
class Report:
    """A report's columns and rows, the same for the page, the API and the CSV/XLSX export."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    totals: dict[str, Any]


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# A Manager's reports cover their team: `team` is the employee ids a reader may see (None: everyone).
_IN_TEAM = "(%(team)s::uuid[] IS NULL OR {column} = ANY(%(team)s::uuid[]))"


def _team(team: Collection[uuid.UUID] | None) -> list[uuid.UUID] | None:
    return None if team is None else list(team)


def hours_report(*, group_by: str, date_from: date, date_to: date, team: Collection[uuid.UUID] | None = None) -> Report:
    """Allocated hours per project, client, cost centre or employee, split into billable and not."""
    key, label = GROUPINGS[group_by]
    rows = _fetch(
        f"""
        SELECT {key} AS key, {label} AS label,
               sum(a.hours) AS hours,
               coalesce(sum(a.hours) FILTER (WHERE p.billable), 0) AS billable
        FROM timesheets_timesheetprojectallocation a
        JOIN timesheets_project p ON p.id = a.project_id
        JOIN timesheets_employee e ON e.id = a.employee_id
        WHERE a.date BETWEEN %(date_from)s AND %(date_to)s AND {_IN_TEAM.format(column="a.employee_id")}
        GROUP BY 1, 2 ORDER BY hours DESC, label
        """,
        {"date_from": date_from, "date_to": date_to, "team": _team(team)},
    )
    body = [[k, name, hours, billable, hours - billable] for k, name, hours, billable in rows]
    total = sum((row[2] for row in body), ZERO)
    billable_total = sum((row[3] for row in body), ZERO)
    return Report(
        title=f"Hours by {group_by.replace('_', ' ')}",
        columns=["key", group_by, "hours", "billable_hours", "non_billable_hours"],
        rows=body,
        totals={"hours": total, "billable_hours": billable_total, "non_billable_hours": total - billable_total},
    )


def utilisation_report(*, date_from: date, date_to: date, team: Collection[uuid.UUID] | None = None) -> Report:
    """Per active employee: allocated ÷ expected hours, and the billable share of what was allocated."""
    allocated = {
        employee_id: (name, hours, billable)
        for employee_id, name, hours, billable in _fetch(
            f"""
            SELECT e.id, e.name, coalesce(sum(a.hours), 0),
                   coalesce(sum(a.hours) FILTER (WHERE p.billable), 0)
            FROM timesheets_employee e
            LEFT JOIN timesheets_timesheetprojectallocation a
                   ON a.employee_id = e.id AND a.date BETWEEN %(date_from)s AND %(date_to)s
            LEFT JOIN timesheets_project p ON p.id = a.project_id
            WHERE e.active AND {_IN_TEAM.format(column="e.id")}
            GROUP BY e.id, e.name
            """,
            {"date_from": date_from, "date_to": date_to, "team": _team(team)},
        )
    }
    totals = expected_totals(date_from=date_from, date_to=date_to)
    rows: list[list[Any]] = []
    for employee_id, (name, hours, billable) in sorted(allocated.items(), key=lambda item: item[1][0]):
        due = totals[employee_id].expected if employee_id in totals else ZERO
        ratio = (hours / due).quantize(TWO_PLACES) if due > 0 else None
        rows.append([str(employee_id), name, due, hours, billable, ratio])
    due_total = sum((row[2] for row in rows), ZERO)
    hours_total = sum((row[3] for row in rows), ZERO)
    return Report(
        title="Utilisation",
        columns=["employee_id", "employee", "expected_hours", "allocated_hours", "billable_hours", "utilisation"],
        rows=rows,
        totals={
            "expected_hours": due_total,
            "allocated_hours": hours_total,
            "utilisation": (hours_total / due_total).quantize(TWO_PLACES) if due_total > 0 else None,
        },
    )


def budget_report(*, as_of: date, window_weeks: int = 4) -> Report:
    """Projects with a budget: hours used to date, the burn of the last weeks and when the budget runs out."""
    since = as_of - timedelta(weeks=window_weeks) + timedelta(days=1)
    rows = _fetch(
        """
        SELECT p.id, p.code, p.name, p.budget_hours,
               coalesce(sum(a.hours), 0) AS used,
               coalesce(sum(a.hours) FILTER (WHERE a.date >= %(since)s), 0) AS recent
        FROM timesheets_project p
        LEFT JOIN timesheets_timesheetprojectallocation a ON a.project_id = p.id AND a.date <= %(as_of)s
        WHERE p.budget_hours IS NOT NULL
        GROUP BY p.id ORDER BY p.code
        """,
        {"as_of": as_of, "since": since},
    )
    body: list[list[Any]] = []
    for project_id, code, name, budget, used, recent in rows:
        per_week = (Decimal(recent) / window_weeks).quantize(TWO_PLACES)
        remaining = Decimal(budget) - Decimal(used)
        # A straight line through the recent burn: the day the remaining hours are used up at that pace.
        runs_out = None
        if remaining > 0 and per_week > 0:
            days = int(remaining / per_week * 7)
            # Past the calendar the product works in, the forecast says "not in sight" rather than a date.
            if days <= (DATE_MAX - as_of).days:
                runs_out = as_of + timedelta(days=days)
        share = (Decimal(used) / Decimal(budget)).quantize(TWO_PLACES) if budget else None
        body.append([str(project_id), f"{code} {name}", budget, used, remaining, share, per_week, runs_out])
    return Report(
        title="Budget burn",
        columns=[
            "project_id",
            "project",
            "budget_hours",
            "used_hours",
            "remaining_hours",
            "used_share",
            "hours_per_week",
            "forecast_exhausted_on",
        ],
        rows=body,
        totals={
            "budget_hours": sum((row[2] for row in body), ZERO),
            "used_hours": sum((row[3] for row in body), ZERO),
        },
    )


def overtime_report(*, date_from: date, date_to: date, team: Collection[uuid.UUID] | None = None) -> Report:
    """Per active employee: expected, worked and leave hours and the overtime (worked - expected)."""
    people = _fetch(
        f"SELECT id, name FROM timesheets_employee WHERE active AND {_IN_TEAM.format(column='id')} ORDER BY name, id",
        {"team": _team(team)},
    )
    totals = expected_totals(date_from=date_from, date_to=date_to)
    rows: list[list[Any]] = []
    for employee_id, name in people:
        own = totals[employee_id]
        rows.append([str(employee_id), name, own.expected, own.worked, own.leave, own.worked - own.expected])
    return Report(
        title="Overtime and leave",
        columns=["employee_id", "employee", "expected_hours", "worked_hours", "leave_hours", "overtime_hours"],
        rows=rows,
        totals={
            "expected_hours": sum((row[2] for row in rows), ZERO),
            "worked_hours": sum((row[3] for row in rows), ZERO),
            "leave_hours": sum((row[4] for row in rows), ZERO),
            "overtime_hours": sum((row[5] for row in rows), ZERO),
        },
    )


def leave_report(*, date_from: date, date_to: date, team: Collection[uuid.UUID] | None = None) -> Report:
    """Approved leave days per type in the period (calendar days of full-day leave, half days as 0.5)."""
    rows = _fetch(
        f"""
        SELECT t.code, t.name, count(DISTINCT l.employee_id),
               sum(CASE l.portion
                     WHEN 'full_day' THEN (least(l.end_date, %(date_to)s) - greatest(l.start_date, %(date_from)s) + 1)
                     WHEN 'half_day' THEN 0.5
                     ELSE 0 END) AS days,
               coalesce(sum(l.hours) FILTER (WHERE l.portion = 'hours'), 0) AS hours
        FROM worktime_leaverecord l JOIN worktime_leavetype t ON t.code = l.leave_type_id
        WHERE l.status = 'approved' AND l.start_date <= %(date_to)s AND l.end_date >= %(date_from)s
          AND {_IN_TEAM.format(column="l.employee_id")}
        GROUP BY t.code, t.name ORDER BY t.code
        """,
        {"date_from": date_from, "date_to": date_to, "team": _team(team)},
    )
    body = [[code, name, people, Decimal(days), hours] for code, name, people, days, hours in rows]
    return Report(
        title="Leave",
        columns=["leave_type", "name", "employees", "calendar_days", "hours"],
        rows=body,
        totals={"calendar_days": sum((row[3] for row in body), ZERO)},
    )


def compliance_report(*, date_from: date, date_to: date, team: Collection[uuid.UUID] | None = None) -> Report:
    """Violations per week and rule, with how many are acknowledged."""
    rows = _fetch(
        f"""
        SELECT date_trunc('week', date)::date AS week, rule, count(*), count(acknowledged_at)
        FROM worktime_complianceviolation
        WHERE date BETWEEN %(date_from)s AND %(date_to)s AND {_IN_TEAM.format(column="employee_id")}
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        {"date_from": date_from, "date_to": date_to, "team": _team(team)},
    )
    body = [[week, rule, count, acknowledged] for week, rule, count, acknowledged in rows]
    by_rule: dict[str, int] = defaultdict(int)
    for row in body:
        by_rule[row[1]] += row[2]
    return Report(
        title="Compliance violations",
        columns=["week", "rule", "violations", "acknowledged"],
        rows=body,
        totals={"violations": sum(by_rule.values()), "by_rule": dict(by_rule)},
    )
