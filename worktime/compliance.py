"""Compliance violations computed from attendance in SQL (window functions), idempotent over a date range."""

from __future__ import annotations

# ruff: noqa: S608 - the SQL is assembled from constants of this module; every value is a bound parameter.
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connection

from worktime import rules
from worktime.rules import Thresholds

_ATTENDANCE = "timesheets_attendancerecord"


@dataclass(frozen=True)
class ComplianceRun:
    date_from: date
    date_to: date
    violations: int
    by_rule: dict[str, int]


def _read_from(date_from: date, thresholds: Thresholds) -> date:
    """How far back attendance must be read for the windows that end inside the range."""
    days = max(7 * thresholds.reference_weeks, 7 * 5, (thresholds.max_consecutive_days or 0) + 1)
    return date_from - timedelta(days=days)


def _select_parts(thresholds: Thresholds) -> tuple[list[str], dict[str, Any]]:
    """One SELECT per active rule, each giving (employee_id, date, rule, measured, limit, message)."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if thresholds.daily_max_hours is not None:
        params["daily_max"] = thresholds.daily_max_hours
        parts.append(
            f"SELECT employee_id, date, '{rules.DAILY_MAX}', worked_hours, %(daily_max)s::numeric,"
            " format('Worked %%s h, more than the daily maximum of %%s h', worked_hours, %(daily_max)s::numeric)"
            " FROM att WHERE in_range AND worked_hours > %(daily_max)s"
        )
    if thresholds.breaks:
        cases = []
        for index, tier in enumerate(sorted(thresholds.breaks, key=lambda t: t.over_hours, reverse=True)):
            params[f"break_over_{index}"] = tier.over_hours
            params[f"break_min_{index}"] = tier.min_minutes
            cases.append(f"WHEN worked_hours > %(break_over_{index})s THEN %(break_min_{index})s")
        required = f"(CASE {' '.join(cases)} ELSE 0 END)"
        parts.append(
            f"SELECT employee_id, date, '{rules.BREAK}', break_minutes::numeric, {required}::numeric,"
            f" format('A break of %%s min after %%s h of work; at least %%s min are required',"
            f" break_minutes, worked_hours, {required})"
            f" FROM att WHERE in_range AND break_minutes < {required}"
        )
    if thresholds.min_daily_rest_hours is not None:
        params["rest"] = thresholds.min_daily_rest_hours
        parts.append(
            f"SELECT employee_id, date, '{rules.DAILY_REST}', rest_hours, %(rest)s::numeric,"
            " format('%%s h of rest since the previous shift, less than %%s h', rest_hours, %(rest)s::numeric)"
            " FROM ("
            "   SELECT employee_id, date, in_range,"
            "     round((extract(epoch FROM check_in - lag(check_out) OVER w) / 3600)::numeric, 2) AS rest_hours"
            "   FROM att WINDOW w AS (PARTITION BY employee_id ORDER BY check_in)"
            " ) rest WHERE in_range AND rest_hours < %(rest)s"
        )
    for rule, key in ((rules.WEEKLY_MAX, "weekly_max_hours"), (rules.WEEKLY_OVERTIME, "weekly_overtime_over_hours")):
        limit = getattr(thresholds, key)
        if limit is None:
            continue
        params[key] = limit
        what = "more than the weekly maximum of" if rule == rules.WEEKLY_MAX else "overtime past"
        parts.append(
            f"SELECT employee_id, week, '{rule}', hours, %({key})s::numeric,"
            f" format('%%s h in the week of %%s, {what} %%s h', hours, week, %({key})s::numeric)"
            f" FROM weeks WHERE week_in_range AND hours > %({key})s"
        )
    if thresholds.weekly_average_max_hours is not None:
        params["average"] = thresholds.weekly_average_max_hours
        params["reference_weeks"] = thresholds.reference_weeks
        # Weeks without attendance count as zero: the sum over the reference period is divided by its length.
        parts.append(
            f"SELECT employee_id, week, '{rules.WEEKLY_AVERAGE}', average, %(average)s::numeric,"
            " format('An average of %%s h a week over %%s weeks, more than %%s h', average,"
            " %(reference_weeks)s, %(average)s::numeric)"
            " FROM ("
            "   SELECT employee_id, week, week_in_range, round(sum(hours) OVER ("
            "     PARTITION BY employee_id ORDER BY week"
            "     RANGE BETWEEN make_interval(weeks => %(reference_weeks)s - 1) PRECEDING AND CURRENT ROW"
            "   ) / %(reference_weeks)s, 2) AS average FROM weeks"
            " ) averaged WHERE week_in_range AND average > %(average)s"
        )
    if thresholds.max_consecutive_days is not None:
        params["consecutive"] = thresholds.max_consecutive_days
        # Gaps and islands: consecutive dates share date - row_number(); the position in the run is its length.
        parts.append(
            f"SELECT employee_id, date, '{rules.CONSECUTIVE_DAYS}', run::numeric, %(consecutive)s::numeric,"
            " format('Day %%s in a row without a day off; at most %%s', run, %(consecutive)s)"
            " FROM ("
            "   SELECT employee_id, date, in_range,"
            "     row_number() OVER (PARTITION BY employee_id, island ORDER BY date) AS run"
            "   FROM (SELECT employee_id, date, in_range,"
            "           date - (row_number() OVER (PARTITION BY employee_id ORDER BY date))::int AS island"
            "         FROM att WHERE worked_hours > 0) islands"
            " ) runs WHERE in_range AND run > %(consecutive)s"
        )
    return parts, params


def affected_until(date_to: date, thresholds: Thresholds) -> date:
    """The last day whose violations can change when attendance up to `date_to` changes: the next day's rest,
    the run of consecutive days it may join, and the weeks whose reference-period average includes it."""
    days = 1
    if thresholds.max_consecutive_days is not None:
        days = max(days, thresholds.max_consecutive_days)
    if thresholds.weekly_average_max_hours is not None:
        days = max(days, 7 * (thresholds.reference_weeks - 1))
    return date_to + timedelta(days=days)


def violations_compute(
    *, thresholds: Thresholds, date_from: date, date_to: date, employee_ids: Sequence[str] | None = None
) -> ComplianceRun:
    """Replace the range's unacknowledged violations with what the attendance shows now (acknowledged ones stay),
    for everyone or for the employees given.

    Must run inside a transaction; the caller (a service) owns it and its audit event.
    """
    parts, params = _select_parts(thresholds)
    scope: dict[str, Any] = {"everyone": employee_ids is None, "employees": list(employee_ids or [])}
    params.update(date_from=date_from, date_to=date_to, read_from=_read_from(date_from, thresholds), **scope)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM worktime_complianceviolation"
            " WHERE date BETWEEN %(week_from)s AND %(date_to)s AND acknowledged_at IS NULL"
            " AND (date >= %(date_from)s OR rule = ANY(%(weekly_rules)s))"
            " AND (%(everyone)s OR employee_id = ANY(%(employees)s::uuid[]))",
            {
                "week_from": date_from - timedelta(days=date_from.weekday()),
                "date_from": date_from,
                "date_to": date_to,
                "weekly_rules": [rules.WEEKLY_MAX, rules.WEEKLY_AVERAGE, rules.WEEKLY_OVERTIME],
                **scope,
            },
        )
        if not parts:
            return ComplianceRun(date_from=date_from, date_to=date_to, violations=0, by_rule={})
        cursor.execute(
            f"""
            WITH att AS (
                SELECT employee_id, date, check_in, check_out, break_minutes, worked_hours,
                       date BETWEEN %(date_from)s AND %(date_to)s AS in_range
                FROM {_ATTENDANCE} WHERE date BETWEEN %(read_from)s AND %(date_to)s
                  AND (%(everyone)s OR employee_id = ANY(%(employees)s::uuid[]))
            ), weeks AS (
                SELECT employee_id, date_trunc('week', date)::date AS week, sum(worked_hours) AS hours,
                       date_trunc('week', date)::date + 6 >= %(date_from)s AS week_in_range
                FROM att GROUP BY employee_id, date_trunc('week', date)
            ), found (employee_id, date, rule, measured, "limit", message) AS (
                {" UNION ALL ".join(parts)}
            ), written AS (
                INSERT INTO worktime_complianceviolation
                    (id, employee_id, date, rule, measured, "limit", message, acknowledgement, computed_at)
                SELECT gen_random_uuid(), employee_id, date, rule, measured, "limit", left(message, 300), '', now()
                FROM found
                ON CONFLICT (employee_id, date, rule) DO NOTHING
                RETURNING rule
            )
            SELECT rule, count(*) FROM written GROUP BY rule
            """,
            params,
        )
        by_rule = {str(rule): int(count) for rule, count in cursor.fetchall()}
    return ComplianceRun(date_from=date_from, date_to=date_to, violations=sum(by_rule.values()), by_rule=by_rule)
