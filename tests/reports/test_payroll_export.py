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
from tests.conftest import PASSWORD, TenantHandle, make_user
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
from worktime.models import LeaveType
from worktime.services import ContractInput, LeaveInput, contract_create, day_off_add, leave_create

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


def _panel_figure(page: str, element_id: str) -> str:
    return page.split(f'id="{element_id}">')[1].split(" h<")[0]


def test_the_flexitime_columns_equal_what_the_week_and_the_grid_show(alpha: TenantHandle) -> None:
    """Ann's account opened in February with a contract (overtime carried into March), a half day of leave and a
    company half day off in March; Bob has no contract and his account opens mid-March; Cid works part time."""
    apollo = make_project(alpha, code="APOLLO")
    ann, bob, cid = (make_employee(alpha, name=name) for name in ("Ann", "Bob", "Cid"))
    with tenant_context(alpha.tenant), transaction.atomic():
        contract_create(
            actor=None,
            employee=ann,
            terms=ContractInput(starts_on=date(2026, 2, 2), weekly_hours=Decimal(40), work_days=[1, 2, 3, 4, 5]),
        )
        contract_create(
            actor=None,
            employee=cid,
            terms=ContractInput(starts_on=date(2026, 1, 5), weekly_hours=Decimal(24), work_days=[1, 2, 3]),
        )
        day_off_add(actor=None, day=date(2026, 3, 20), name="Spring party", half_day=True)
        leave_create(
            actor=None,
            entry=LeaveInput(
                employee_id=ann.id,
                leave_type=LeaveType.objects.get(code="vacation"),
                start_date=date(2026, 3, 4),
                end_date=date(2026, 3, 4),
                portion="half_day",
            ),
            as_request=False,
        )
    first_day = date(2026, 2, 2)
    for offset in range(59):  # 2 February to 1 April
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        worked = {ann.id: 5 if day == date(2026, 3, 4) else 9, cid.id: 7, bob.id: 7}
        for person in (ann, bob, cid):
            if person is bob and day < date(2026, 3, 10):
                continue
            if person is cid and day.weekday() > 2:
                continue
            make_attendance(alpha, person, day=day, hours=worked[person.id])
            if day.month == 3:
                make_allocation(alpha, person, apollo, day=day, hours=str(worked[person.id]))
    with tenant_context(alpha.tenant):
        for person in (ann, bob, cid):
            for week in range(6):
                TimesheetWeek.objects.create(
                    employee=person, week_start=date(2026, 2, 23) + timedelta(weeks=week), status="approved"
                )
        with transaction.atomic():
            period = pay_period_close(actor=None, day=date(2026, 3, 2), override=True, override_reason="test").period
    token = staff_token(alpha)
    rows = _csv_rows(alpha.client().get(f"/api/reports/payroll/{period.id}", **auth(token)))
    totals = {row["employee_name"]: row for row in rows if row["line"] == "total"}
    assert set(totals) == {"Ann", "Bob", "Cid"}
    assert all(row["flexitime_carried_forward"] == "" for row in rows if row["line"] == "project")

    for person in (ann, bob, cid):
        account = alpha.client().get(
            "/api/worktime/expected-hours",
            {"employee": str(person.id), "date_from": "2026-03-01", "date_to": "2026-03-31"},
            **auth(token),
        )
        assert account.status_code == 200
        shown, exported = account.json(), totals[person.name]
        assert (
            exported["expected_hours"],
            exported["leave_hours"],
            exported["worked_hours"],
            exported["worked_overtime_hours"],
            exported["flexitime_brought_forward"],
            exported["flexitime_carried_forward"],
        ) == (
            shown["expected"],
            shown["leave"],
            shown["worked"],
            shown["overtime"],
            shown["flexitime_carried_in"],
            shown["flexitime_carried_out"],
        ), person.name

    # Ann: 20 February days at 9 h against 8 h are carried into March; the half day of leave counts 4 h.
    assert totals["Ann"]["flexitime_brought_forward"] == "20.00"
    assert totals["Ann"]["leave_hours"] == "4.00"
    # Bob's account opened on 10 March: nothing brought forward, and the days before it are not counted.
    assert totals["Bob"]["flexitime_brought_forward"] == "0.00"
    assert Decimal(totals["Bob"]["flexitime_carried_forward"]) != Decimal(totals["Bob"]["worked_overtime_hours"])
    # The grid shows the same balance: 1 March is a Sunday, so the week of 2 March brings in February's.
    page = _hr_client(alpha).get(f"/timesheets?employee={ann.id}&week=2026-W10").content.decode()
    assert _panel_figure(page, "flex-carried-in") == totals["Ann"]["flexitime_brought_forward"]
    manifest = alpha.client().get(f"/api/reports/payroll/{period.id}/manifest", **auth(token)).json()
    assert manifest["spec_version"] == 2
    assert Decimal(manifest["totals"]["flexitime_carried_forward"]) == sum(
        Decimal(row["flexitime_carried_forward"]) for row in totals.values()
    )


def _hr_client(handle: TenantHandle) -> Any:
    user = make_user(handle, f"hr-payroll@{handle.tenant.slug}.test", "HR")
    client = handle.client()
    assert client.post("/login", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client
