"""Payroll export of a closed pay period: CSV or XLSX rows streamed from one server-side query, and a manifest.

The column specification (docs/payroll.md) is stable: columns are only ever added at the end, under a new
`PAYROLL_SPEC_VERSION`. Hours are the allocations of approved weeks inside the period (a closed period's
allocations cannot change any more, so two exports of a period are identical). Memory is bounded by the
number of employees (their expected and leave hours), never by the number of rows.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.db import connection
from openpyxl import Workbook

from core.errors import Conflict
from core.spreadsheet import spreadsheet_cell
from timesheets.models import PayPeriod, PayPeriodStatus
from worktime.totals import FlexitimeTotals, flexitime_totals

PAYROLL_SPEC_VERSION = 2
PAYROLL_COLUMNS = (
    "period_start",
    "period_end",
    "employee_id",
    "employee_name",
    "employee_email",
    "line",
    "project_code",
    "project_name",
    "cost_centre",
    "billable",
    "hours",
    "regular_hours",
    "overtime_hours",
    "leave_hours",
    "expected_hours",
    # Version 2: the working-time account as the week and the grid show it (attendance against expected hours).
    "worked_hours",
    "worked_overtime_hours",
    "flexitime_brought_forward",
    "flexitime_carried_forward",
)
ZERO = Decimal(0)
CHUNK = 2000

# Hours per employee and project of the approved weeks in the period, employees in a stable order.
_ROWS_SQL = """
SELECT e.id, e.name, e.email, p.code, p.name, p.cost_centre, p.billable, sum(a.hours)
FROM timesheets_timesheetprojectallocation a
JOIN timesheets_timesheetweek w
  ON w.employee_id = a.employee_id AND w.week_start = date_trunc('week', a.date)::date AND w.status = 'approved'
JOIN timesheets_employee e ON e.id = a.employee_id
JOIN timesheets_project p ON p.id = a.project_id
WHERE a.date BETWEEN %s AND %s
GROUP BY e.id, e.name, e.email, p.code, p.name, p.cost_centre, p.billable
ORDER BY e.name, e.id, p.code
"""
_EXCLUDED_SQL = """
SELECT count(*), coalesce(sum(a.hours), 0)
FROM timesheets_timesheetprojectallocation a
WHERE a.date BETWEEN %s AND %s AND NOT EXISTS (
    SELECT 1 FROM timesheets_timesheetweek w
    WHERE w.employee_id = a.employee_id AND w.week_start = date_trunc('week', a.date)::date AND w.status = 'approved'
)
"""


def payroll_period_checked(period: PayPeriod) -> PayPeriod:
    if period.status != PayPeriodStatus.CLOSED:
        raise Conflict(
            f"The pay period {period.start_date} to {period.end_date} is not closed; close it before exporting.",
            extra={"period": str(period.id)},
        )
    return period


@dataclass
class PayrollTotals:
    rows: int = 0
    project_rows: int = 0
    employees: int = 0
    hours: Decimal = ZERO
    regular_hours: Decimal = ZERO
    overtime_hours: Decimal = ZERO
    leave_hours: Decimal = ZERO
    worked_hours: Decimal = ZERO
    worked_overtime_hours: Decimal = ZERO
    flexitime_carried_forward: Decimal = ZERO
    by_project: dict[str, Decimal] = field(default_factory=dict)


def _employee_lines(
    period: PayPeriod,
    employee: tuple[Any, ...],
    projects: list[tuple[Any, ...]],
    due: FlexitimeTotals | None,
    totals: PayrollTotals,
) -> Iterator[tuple[Any, ...]]:
    employee_id, name, email = employee
    start, end = period.start_date, period.end_date
    total = ZERO
    for code, project_name, cost_centre, billable, hours in projects:
        total += hours
        totals.project_rows += 1
        totals.by_project[code] = totals.by_project.get(code, ZERO) + hours
        yield (start, end, employee_id, name, email, "project", code, project_name, cost_centre, billable, hours,
               None, None, None, None, None, None, None, None)  # fmt: skip
    expected = due.expected if due is not None else None
    leave = due.leave if due is not None else None
    overtime = max(ZERO, total - expected) if expected is not None else None
    regular = total - overtime if overtime is not None else total
    totals.employees += 1
    totals.hours += total
    totals.regular_hours += regular
    totals.overtime_hours += overtime or ZERO
    totals.leave_hours += leave or ZERO
    account: tuple[Decimal | None, ...] = (None, None, None, None)
    if due is not None:
        account = (due.worked, due.overtime, due.carried_in, due.carried_out)
        totals.worked_hours += due.worked
        totals.worked_overtime_hours += due.overtime
        totals.flexitime_carried_forward += due.carried_out
    yield (start, end, employee_id, name, email, "total", "", "", "", None, total, regular, overtime, leave, expected,
           *account)  # fmt: skip


def payroll_rows(period: PayPeriod, totals: PayrollTotals | None = None) -> Iterator[tuple[Any, ...]]:
    """The export's rows in PAYROLL_COLUMNS order: per employee one `project` line per project, then a `total`
    line (regular, overtime where the contract's expected hours are known, leave, expected hours, and the
    flexitime account: worked hours, worked beyond expected, the balance brought and carried forward)."""
    payroll_period_checked(period)
    totals = totals if totals is not None else PayrollTotals()
    due = flexitime_totals(date_from=period.start_date, date_to=period.end_date)
    current: tuple[Any, ...] | None = None
    projects: list[tuple[Any, ...]] = []
    # A named (server-side) cursor: rows arrive CHUNK at a time, whatever the size of the period.
    with connection.chunked_cursor() as cursor:
        cursor.cursor.itersize = CHUNK
        cursor.execute(_ROWS_SQL, [period.start_date, period.end_date])
        for employee_id, name, email, code, project_name, cost_centre, billable, hours in cursor:
            key = (employee_id, name, email)
            if current is not None and key[0] != current[0]:
                yield from _employee_lines(period, current, projects, due.get(current[0]), totals)
                projects = []
            current = key
            projects.append((code, project_name, cost_centre, billable, Decimal(hours)))
        if current is not None:
            yield from _employee_lines(period, current, projects, due.get(current[0]), totals)
    totals.rows = totals.project_rows + totals.employees


def _hours(value: Decimal) -> str:
    return f"{value:.2f}"


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _hours(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return spreadsheet_cell(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def payroll_csv_lines(period: PayPeriod) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(PAYROLL_COLUMNS)
    for row in payroll_rows(period):
        yield writer.writerow([_text(value) for value in row])


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool | int | float):
        return value
    return _text(value)


def payroll_xlsx_file(period: PayPeriod) -> IO[bytes]:
    """The XLSX in a temporary file (openpyxl's write-only mode keeps rows on disk, not in memory), rewound."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Payroll")
    sheet.append(list(PAYROLL_COLUMNS))
    for row in payroll_rows(period):
        sheet.append([_cell(value) for value in row])
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    book.save(out)
    out.seek(0)
    return out


def payroll_manifest(period: PayPeriod) -> dict[str, Any]:
    """Row counts and totals of the export (computed by the same pass as the export) and a SHA-256 of its CSV."""
    totals = PayrollTotals()
    digest = hashlib.sha256()
    writer = csv.writer(_Echo())
    digest.update(writer.writerow(PAYROLL_COLUMNS).encode())
    for row in payroll_rows(period, totals):
        digest.update(writer.writerow([_text(value) for value in row]).encode())
    with connection.cursor() as cursor:
        cursor.execute(_EXCLUDED_SQL, [period.start_date, period.end_date])
        excluded_rows, excluded_hours = cursor.fetchone()
    return {
        "spec_version": PAYROLL_SPEC_VERSION,
        "columns": list(PAYROLL_COLUMNS),
        "period": {
            "id": str(period.id),
            "start_date": period.start_date.isoformat(),
            "end_date": period.end_date.isoformat(),
            "closed_at": period.closed_at.isoformat() if period.closed_at else None,
            "override": period.override,
        },
        "rows": totals.rows,
        "project_rows": totals.project_rows,
        "employees": totals.employees,
        "totals": {
            "hours": _hours(totals.hours),
            "regular_hours": _hours(totals.regular_hours),
            "overtime_hours": _hours(totals.overtime_hours),
            "leave_hours": _hours(totals.leave_hours),
            "worked_hours": _hours(totals.worked_hours),
            "worked_overtime_hours": _hours(totals.worked_overtime_hours),
            "flexitime_carried_forward": _hours(totals.flexitime_carried_forward),
            "by_project": {code: _hours(hours) for code, hours in sorted(totals.by_project.items())},
        },
        "excluded_unapproved": {"allocations": int(excluded_rows), "hours": _hours(Decimal(excluded_hours))},
        "csv_sha256": digest.hexdigest(),
    }
