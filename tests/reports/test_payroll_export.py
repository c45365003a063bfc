"""Payroll export of a closed pay period: the figures equal the approved allocations, CSV and XLSX agree, the
manifest counts and totals what was exported, and an open period is refused."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from reports.payroll import PAYROLL_COLUMNS
from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    auth,
    employee_user,
    make_allocation,
    make_attendance,
    make_employee,
    make_project,
    staff_token,
)
from timesheets.models import PayPeriod, TimesheetProjectAllocation, TimesheetWeek
from timesheets.services.periods import pay_period_close

MONDAY = date(2026, 3, 2)


def _world(handle: TenantHandle) -> tuple[list[Any], PayPeriod]:
    """Three employees over two weeks of March; Cid's second week is not approved. March closed with an override."""
    apollo, gemini = make_project(handle, code="APOLLO"), make_project(handle, code="GEMINI", cost_centre="CC-7")
    people = [make_employee(handle, name=name) for name in ("Ann", "Bob", "Cid")]
    for index, person in enumerate(people):
        for offset in range(12):
            day = MONDAY + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            make_attendance(handle, person, day=day, hours=8)
            make_allocation(handle, person, apollo, day=day, hours=str(5 + index))
            make_allocation(handle, person, gemini, day=day, hours="3.25")
        with tenant_context(handle.tenant):
            TimesheetWeek.objects.create(employee=person, week_start=MONDAY, status="approved")
            second = "submitted" if person.name == "Cid" else "approved"
            TimesheetWeek.objects.create(employee=person, week_start=MONDAY + timedelta(days=7), status=second)
    with tenant_context(handle.tenant), transaction.atomic():
        period = pay_period_close(actor=None, day=MONDAY, override=True, override_reason="Cid is away").period
    return people, period


def _approved_hours(handle: TenantHandle) -> Decimal:
    with tenant_context(handle.tenant):
        total = Decimal(0)
        for week in TimesheetWeek.objects.filter(status="approved"):
            found = TimesheetProjectAllocation.objects.filter(
                employee_id=week.employee_id, date__range=(week.week_start, week.week_start + timedelta(days=6))
            ).aggregate(total=Sum("hours"))["total"]
            total += found or 0
        return total


def _csv_rows(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_sums_exactly_to_the_approved_allocations_and_the_manifest_says_so(alpha: TenantHandle) -> None:
    _, period = _world(alpha)
    token = staff_token(alpha)
    client = alpha.client()
    response = client.get(f"/api/reports/payroll/{period.id}", **auth(token))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="payroll-2026-03-01-2026-03-31.csv"'
    rows = _csv_rows(response)
    assert list(rows[0]) == list(PAYROLL_COLUMNS)
    project_lines = [row for row in rows if row["line"] == "project"]
    total_lines = [row for row in rows if row["line"] == "total"]
    expected = _approved_hours(alpha)
    assert expected == Decimal("82.50") + Decimal("92.50") + Decimal("51.25")  # Cid: first week only
    assert sum(Decimal(row["hours"]) for row in project_lines) == expected
    assert sum(Decimal(row["hours"]) for row in total_lines) == expected
    assert [row["employee_name"] for row in total_lines] == ["Ann", "Bob", "Cid"]
    ann = total_lines[0]
    # 82.5 h allocated against March's 22 working days of 8 h expected: no overtime.
    assert (ann["hours"], ann["expected_hours"], ann["regular_hours"], ann["overtime_hours"], ann["leave_hours"]) == (
        "82.50", "176.00", "82.50", "0.00", "0.00",
    )  # fmt: skip
    gemini = [row for row in project_lines if row["project_code"] == "GEMINI"]
    assert {row["cost_centre"] for row in gemini} == {"CC-7"}

    manifest = client.get(f"/api/reports/payroll/{period.id}/manifest", **auth(token)).json()
    assert manifest["rows"] == len(rows)
    assert manifest["employees"] == 3
    assert manifest["project_rows"] == len(project_lines)
    assert Decimal(manifest["totals"]["hours"]) == expected
    assert manifest["excluded_unapproved"] == {"allocations": 10, "hours": "51.25"}
    assert manifest["columns"] == list(PAYROLL_COLUMNS)

    xlsx = client.get(f"/api/reports/payroll/{period.id}?format=xlsx", **auth(token))
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.getvalue()), read_only=True)["Payroll"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(PAYROLL_COLUMNS)
    hours_at = PAYROLL_COLUMNS.index("hours")
    line_at = PAYROLL_COLUMNS.index("line")
    assert round(sum(row[hours_at] for row in values[1:] if row[line_at] == "project"), 2) == float(expected)
    assert len(values) == len(rows) + 1


def test_an_open_period_is_not_exported_and_employees_may_not_export(alpha: TenantHandle) -> None:
    _, period = _world(alpha)
    _, _, employee_token = employee_user(alpha)
    assert alpha.client().get(f"/api/reports/payroll/{period.id}", **auth(employee_token)).status_code == 403
    with tenant_context(alpha.tenant):
        PayPeriod.objects.filter(id=period.id).update(status="open")
    refused = alpha.client().get(f"/api/reports/payroll/{period.id}", **auth(staff_token(alpha)))
    assert refused.status_code == 409
    assert "not closed" in refused.json()["error"]["message"]
