"""Days needing attention: one list of the employee-days a person has to look at.

- `no_attendance`: a working day (by contract, calendar and leave) in the past with no attendance recorded.
- `no_suggestion`: attended, but nothing allocated or suggested (generation found no signal, or never ran).
- `under_allocated` / `over_allocated`: allocations and pending suggestions add up to less or more than attended.
- `worked_day_off`: attendance on a public holiday, a company day off or a day of approved leave.

The sums per employee-day come from one SQL statement over attendance, allocations and pending suggestions;
which days were expected comes from worktime's calendar (`expected_days`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import connection

from timesheets.models import (
    AttendanceRecord,
    ProjectAllocationSuggestion,
    TimesheetProjectAllocation,
    UnallocatedDay,
)
from timesheets.selectors import employee_list, tenant_today
from worktime.selectors import expected_days

ZERO = Decimal(0)
TOLERANCE = Decimal("0.01")


class AttentionKind(StrEnum):
    NO_ATTENDANCE = "no_attendance"
    NO_SUGGESTION = "no_suggestion"
    UNDER_ALLOCATED = "under_allocated"
    OVER_ALLOCATED = "over_allocated"
    WORKED_DAY_OFF = "worked_day_off"


KIND_LABELS = {
    AttentionKind.NO_ATTENDANCE: "No attendance on a working day",
    AttentionKind.NO_SUGGESTION: "Attended, nothing allocated or suggested",
    AttentionKind.UNDER_ALLOCATED: "Less allocated than attended",
    AttentionKind.OVER_ALLOCATED: "More allocated than attended",
    AttentionKind.WORKED_DAY_OFF: "Worked on a holiday or during leave",
}


@dataclass(frozen=True)
class AttentionDay:
    employee_id: uuid.UUID
    employee_name: str
    employee_email: str
    date: date
    kind: AttentionKind
    attended: Decimal
    allocated: Decimal
    suggested: Decimal
    note: str

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def gap(self) -> Decimal:
        return self.attended - self.allocated - self.suggested


def _day_sums(
    employee_ids: list[uuid.UUID], date_from: date, date_to: date, today: date
) -> dict[tuple[uuid.UUID, date], tuple[Decimal, Decimal, Decimal, str]]:
    """Attended, allocated and pending-suggested hours, and the no-signal reason, per employee-day with any."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH days AS (
                SELECT employee_id, date, worked_hours AS attended, 0::numeric AS allocated, 0::numeric AS suggested
                  FROM {AttendanceRecord._meta.db_table}
                 WHERE employee_id = ANY(%(ids)s) AND date BETWEEN %(start)s AND %(end)s
                UNION ALL
                SELECT employee_id, date, 0, hours, 0
                  FROM {TimesheetProjectAllocation._meta.db_table}
                 WHERE employee_id = ANY(%(ids)s) AND date BETWEEN %(start)s AND %(end)s
                UNION ALL
                SELECT s.employee_id, s.date, 0, 0, s.hours
                  FROM {ProjectAllocationSuggestion._meta.db_table} s
                 WHERE s.employee_id = ANY(%(ids)s) AND s.date BETWEEN %(start)s AND %(end)s
                   AND s.status = 'pending' AND s.expiry_date >= %(today)s
                   AND NOT EXISTS (SELECT 1 FROM {TimesheetProjectAllocation._meta.db_table} a
                                    WHERE a.employee_id = s.employee_id AND a.project_id = s.project_id
                                      AND a.date = s.date)
            )
            SELECT d.employee_id, d.date, sum(d.attended), sum(d.allocated), sum(d.suggested),
                   coalesce(min(u.reason), '')
              FROM days d
              LEFT JOIN {UnallocatedDay._meta.db_table} u ON u.employee_id = d.employee_id AND u.date = d.date
             GROUP BY d.employee_id, d.date
            """,  # noqa: S608 - table names from the models
            {"ids": employee_ids, "start": date_from, "end": date_to, "today": today},
        )
        return {
            (employee_id, day): (Decimal(attended), Decimal(allocated), Decimal(suggested), reason)
            for employee_id, day, attended, allocated, suggested, reason in cursor.fetchall()
        }


def attention_days(
    *,
    user: Any,
    date_from: date,
    date_to: date,
    employee_id: uuid.UUID | None = None,
    kinds: frozenset[AttentionKind] | None = None,
) -> list[AttentionDay]:
    """Every employee-day of the period that needs a person, for the employees `user` may see, by date."""
    today = tenant_today()
    people = employee_list(user=user, active=True)
    if employee_id is not None:
        people = people.filter(id=employee_id)
    names = {row[0]: (row[1], row[2]) for row in people.values_list("id", "name", "email")}
    ids = list(names)
    if not ids:
        return []
    sums = _day_sums(ids, date_from, date_to, today)
    expected = expected_days(employee_ids=ids, date_from=date_from, date_to=min(date_to, today))
    found: list[AttentionDay] = []

    def add(key: tuple[uuid.UUID, date], kind: AttentionKind, note: str = "") -> None:
        attended, allocated, suggested, _ = sums.get(key, (ZERO, ZERO, ZERO, ""))
        name, email = names[key[0]]
        found.append(AttentionDay(key[0], name, email, key[1], kind, attended, allocated, suggested, note))

    day_off: set[tuple[uuid.UUID, date]] = set()
    for person, days in expected.items():
        for day in days:
            key = (person, day.date)
            off = day.holiday_name or day.leave_type
            if off and day.expected == ZERO:
                day_off.add(key)
            if day.expected > ZERO and key not in sums and day.date < today:
                add(key, AttentionKind.NO_ATTENDANCE)
    for key, (attended, allocated, suggested, reason) in sums.items():
        if attended <= ZERO:
            continue
        if key in day_off:
            add(key, AttentionKind.WORKED_DAY_OFF)
        elif allocated + suggested <= ZERO:
            add(key, AttentionKind.NO_SUGGESTION, reason)
        elif attended - allocated - suggested > TOLERANCE:
            add(key, AttentionKind.UNDER_ALLOCATED)
        elif allocated + suggested - attended > TOLERANCE:
            add(key, AttentionKind.OVER_ALLOCATED)
    if kinds:
        found = [day for day in found if day.kind in kinds]
    return sorted(found, key=lambda day: (day.date, day.employee_name, str(day.employee_id)))
