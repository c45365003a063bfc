"""Reports: their numbers equal the raw sums, exports carry the same rows, and only HR and Admin read them."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from tests.conftest import TenantHandle
from tests.timesheets.factories import auth, employee_user, make_allocation, make_attendance, make_employee, staff_token
from timesheets.models import Project

MONDAY = date(2026, 3, 2)


def _project(handle: TenantHandle, code: str, **fields: Any) -> Project:
    with tenant_context(handle.tenant):
        return Project.objects.create(code=code, name=f"Project {code}", **fields)


def _get(handle: TenantHandle, path: str, token: str, **params: str) -> Any:
    return handle.client().get(path, params, **auth(token))


@pytest.fixture
def world(alpha: TenantHandle) -> dict[str, Any]:
    """Three people, two clients, one internal project, two weeks of allocations."""
    billable_a = _project(alpha, "ACME-1", client="Acme", billable=True, budget_hours=Decimal(100))
    billable_b = _project(alpha, "GLOBEX", client="Globex", billable=True)
    internal = _project(alpha, "INTERNAL", billable=False, cost_centre="CC-9")
    people = [make_employee(alpha) for _ in range(3)]
    split = [(billable_a, 4), (billable_b, 3), (internal, 1)]
    for offset in range(10):
        day = MONDAY + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for index, person in enumerate(people):
            project, hours = split[index]
            make_allocation(alpha, person, project, day=day, hours=str(hours))
            make_attendance(alpha, person, day=day, hours=8)
    return {"people": people, "projects": (billable_a, billable_b, internal)}


def _raw(handle: TenantHandle, sql: str, params: list[Any]) -> Any:
    with tenant_context(handle.tenant), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_hours_by_client_equal_the_raw_sums_and_split_billable_from_internal(
    alpha: TenantHandle, world: dict[str, Any]
) -> None:
    token = staff_token(alpha)
    start, end = MONDAY, MONDAY + timedelta(days=13)

    body = _get(alpha, "/api/reports/hours", token, group_by="client", date_from=str(start), date_to=str(end)).json()

    raw = dict(
        _raw(
            alpha,
            "SELECT coalesce(nullif(p.client, ''), '(no client)'), sum(a.hours)"
            " FROM timesheets_timesheetprojectallocation a JOIN timesheets_project p ON p.id = a.project_id"
            " WHERE a.date BETWEEN %s AND %s GROUP BY 1",
            [start, end],
        )
    )
    assert {row[1]: Decimal(row[2]) for row in body["rows"]} == raw
    assert Decimal(body["totals"]["hours"]) == sum(raw.values())
    assert Decimal(body["totals"]["billable_hours"]) == raw["Acme"] + raw["Globex"]
    assert Decimal(body["totals"]["non_billable_hours"]) == raw["(no client)"]


def test_utilisation_is_allocated_over_expected_for_each_person(alpha: TenantHandle, world: dict[str, Any]) -> None:
    token = staff_token(alpha)
    # Ten calendar days from Monday hold eight working days: 64 expected hours each (40 h weeks, no holidays).
    body = _get(
        alpha, "/api/reports/utilisation", token, date_from=str(MONDAY), date_to=str(MONDAY + timedelta(days=9))
    ).json()

    rows = {row[0]: row for row in body["rows"]}
    first, second, third = (rows[str(person.id)] for person in world["people"])
    assert (first[2], first[3], first[5]) == ("64.00", "32.00", "0.50")
    assert (second[2], second[3], second[5]) == ("64.00", "24.00", "0.38")
    assert (third[3], third[4]) == ("8.00", "0")


def test_budget_burn_forecasts_from_the_recent_pace(alpha: TenantHandle, world: dict[str, Any]) -> None:
    token = staff_token(alpha)
    as_of = MONDAY + timedelta(days=13)

    body = _get(alpha, "/api/reports/budgets", token, as_of=str(as_of)).json()

    (row,) = body["rows"]
    assert row[1].startswith("ACME-1")
    # Eight working days of 4 h: 32 h used, all of them within the last four weeks.
    assert (row[2], row[3], row[4]) == ("100.00", "32.00", "68.00")
    # 8 h a week: the remaining 68 h last 8.5 more weeks (59.5 days, the forecast day is the 59th).
    assert row[6] == "8.00"
    assert row[7] == (as_of + timedelta(days=59)).isoformat()


def test_every_report_exports_the_same_rows_as_csv_and_xlsx(alpha: TenantHandle, world: dict[str, Any]) -> None:
    token = staff_token(alpha)
    period = {"date_from": str(MONDAY), "date_to": str(MONDAY + timedelta(days=13))}
    for path in ("hours", "utilisation", "overtime", "leave", "compliance"):
        as_json = _get(alpha, f"/api/reports/{path}", token, **period).json()
        as_csv = _get(alpha, f"/api/reports/{path}", token, format="csv", **period)
        assert as_csv.status_code == 200
        lines = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode())))
        assert lines[0] == as_json["columns"]
        assert len(lines) - 1 == len(as_json["rows"])
        as_xlsx = _get(alpha, f"/api/reports/{path}", token, format="xlsx", **period)
        assert as_xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
        assert sheet is not None
        assert len(list(sheet.iter_rows())) == len(as_json["rows"]) + 1


def test_a_name_that_would_be_a_formula_after_any_separator_is_neutralised(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha, name="Bob;=1+1;@SUM(2+2)")
    project = _project(alpha, "P1")
    make_allocation(alpha, person, project, day=MONDAY, hours="2")

    exported = _get(
        alpha,
        "/api/reports/hours",
        token,
        group_by="employee",
        date_from=str(MONDAY),
        date_to=str(MONDAY),
        format="csv",
    )

    text = b"".join(exported.streaming_content).decode()
    assert "Bob;'=1+1;'@SUM(2+2)" in text
    for separator in (",", ";", "\t", "|"):
        for line in text.splitlines():
            assert not any(cell.strip().startswith(("=", "+", "@")) for cell in line.split(separator))


def test_reports_are_for_hr_and_admin_and_a_bad_period_is_a_400(alpha: TenantHandle) -> None:
    _, _, employee_token = employee_user(alpha)
    period = {"date_from": str(MONDAY), "date_to": str(MONDAY)}
    assert _get(alpha, "/api/reports/hours", employee_token, **period).status_code == 403
    token = staff_token(alpha)
    backwards = _get(alpha, "/api/reports/hours", token, date_from=str(MONDAY), date_to=str(MONDAY - timedelta(days=1)))
    assert backwards.status_code == 400
    assert "date_to" in backwards.json()["error"]["fields"]
    unknown = _get(alpha, "/api/reports/hours", token, group_by="planet", **period)
    assert unknown.status_code == 400
    assert "group_by" in unknown.json()["error"]["fields"]


def test_a_report_reads_only_its_own_tenants_rows(
    alpha: TenantHandle, beta: TenantHandle, world: dict[str, Any]
) -> None:
    body = _get(
        beta, "/api/reports/hours", staff_token(beta), date_from=str(MONDAY), date_to=str(MONDAY + timedelta(days=13))
    ).json()
    assert body["rows"] == []


def test_the_reports_expected_hours_equal_the_day_by_day_computation(alpha: TenantHandle) -> None:
    """The bulk SQL and the per-day computation of the expected-hours API agree, with every rule in play."""
    from worktime.models import CompanyDayOff, Contract, LeaveRecord, LeaveType, WorkCalendar
    from worktime.selectors import expected_days
    from worktime.totals import expected_totals

    people = [make_employee(alpha) for _ in range(5)]
    start, end = date(2026, 3, 30), date(2026, 4, 26)  # Easter 2026 (3 and 6 April) in Germany
    with tenant_context(alpha.tenant):
        WorkCalendar.objects.update_or_create(pk=1, defaults={"country": "DE", "subdivision": "BE"})
        CompanyDayOff.objects.create(date=date(2026, 4, 14), name="Offsite", half_day=True)
        CompanyDayOff.objects.create(date=date(2026, 4, 21), name="Move", half_day=False)
        Contract.objects.create(
            employee=people[1], starts_on=date(2026, 4, 8), weekly_hours=Decimal("32.5"), work_days=[1, 2, 3, 4]
        )
        Contract.objects.create(
            employee=people[2],
            starts_on=date(2026, 1, 1),
            weekly_hours=Decimal(40),
            work_days=[1, 2, 3, 4, 5],
            daily_hours=Decimal("7.5"),
            country="DE",
            subdivision="BY",
        )
        vacation = LeaveType.objects.get(code="vacation")
        for person, first, last, portion, hours in (
            (people[0], date(2026, 4, 13), date(2026, 4, 17), "full_day", None),
            (people[1], date(2026, 4, 15), date(2026, 4, 15), "half_day", None),
            (people[3], date(2026, 4, 20), date(2026, 4, 20), "hours", Decimal("3")),
        ):
            LeaveRecord.objects.create(
                employee=person, leave_type=vacation, start_date=first, end_date=last, portion=portion, hours=hours
            )
        make_attendance(alpha, people[4], day=date(2026, 4, 1), hours=9)
        totals = expected_totals(date_from=start, date_to=end)
        days = expected_days(employee_ids=[person.id for person in people], date_from=start, date_to=end)

    for person in people:
        by_day = days[person.id]
        assert totals[person.id].expected == sum((day.expected for day in by_day), Decimal(0)), person.name
        assert totals[person.id].leave == sum((day.leave for day in by_day), Decimal(0)), person.name
        assert totals[person.id].worked == sum((day.worked for day in by_day), Decimal(0)), person.name
    assert totals[people[0].id].leave > 0
    assert totals[people[4].id].worked == Decimal(9)


def test_a_budget_that_would_last_past_the_calendar_has_no_forecast_day(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    project = _project(alpha, "SLOW", budget_hours=Decimal("9999999.00"))
    make_allocation(alpha, make_employee(alpha), project, day=MONDAY, hours="0.25")

    body = _get(alpha, "/api/reports/budgets", token, as_of=str(MONDAY)).json()

    (row,) = body["rows"]
    assert row[6] == "0.06"
    assert row[7] is None


def test_the_flexitime_totals_equal_each_employees_account_with_every_rule_in_play(alpha: TenantHandle) -> None:
    """The payroll export's bulk flexitime account and the per-employee one the week and the grid show agree:
    accounts opened by a contract or by attendance, before the period or inside it, or not at all."""
    from worktime.models import CompanyDayOff, Contract, LeaveRecord, LeaveType, WorkCalendar
    from worktime.selectors import flexitime_balance
    from worktime.totals import flexitime_totals

    people = [make_employee(alpha) for _ in range(5)]
    start, end = date(2026, 4, 1), date(2026, 4, 30)  # Easter 2026 (3 and 6 April) in Germany
    with tenant_context(alpha.tenant):
        WorkCalendar.objects.update_or_create(pk=1, defaults={"country": "DE", "subdivision": "BE"})
        CompanyDayOff.objects.create(date=date(2026, 4, 14), name="Offsite", half_day=True)
        CompanyDayOff.objects.create(date=date(2026, 3, 20), name="Party", half_day=False)
        # Account opened by a contract in January, changed in April; another by a contract inside April.
        Contract.objects.create(
            employee=people[0], starts_on=date(2026, 1, 5), ends_on=date(2026, 4, 7), weekly_hours=Decimal(40),
            work_days=[1, 2, 3, 4, 5],
        )  # fmt: skip
        Contract.objects.create(
            employee=people[0], starts_on=date(2026, 4, 8), weekly_hours=Decimal("32.5"), work_days=[1, 2, 3, 4]
        )
        Contract.objects.create(
            employee=people[1], starts_on=date(2026, 4, 15), weekly_hours=Decimal(40), work_days=[1, 2, 3, 4, 5],
            daily_hours=Decimal("7.5"), country="DE", subdivision="BY",
        )  # fmt: skip
        vacation = LeaveType.objects.get(code="vacation")
        for person, first, last, portion, hours in (
            (people[0], date(2026, 3, 9), date(2026, 3, 11), "full_day", None),
            (people[0], date(2026, 4, 22), date(2026, 4, 22), "half_day", None),
            (people[2], date(2026, 4, 20), date(2026, 4, 20), "hours", Decimal("3")),
        ):
            LeaveRecord.objects.create(
                employee=person, leave_type=vacation, start_date=first, end_date=last, portion=portion, hours=hours
            )
    # Attendance opens people[2]'s account in February and people[3]'s inside April; people[4] has none.
    for person, first, count, worked in (
        (people[0], date(2026, 2, 2), 60, 9),
        (people[1], date(2026, 4, 20), 8, 7),
        (people[2], date(2026, 2, 16), 70, 8),
        (people[3], date(2026, 4, 9), 10, 10),
    ):
        for offset in range(count):
            day = first + timedelta(days=offset)
            if day.weekday() < 5 and day <= end:
                make_attendance(alpha, person, day=day, hours=worked)

    with tenant_context(alpha.tenant):
        totals = flexitime_totals(date_from=start, date_to=end)
        accounts = {
            person.id: flexitime_balance(employee_id=person.id, date_from=start, date_to=end) for person in people
        }

    for person in people:
        bulk, account = totals[person.id], accounts[person.id]
        assert (bulk.opens, bulk.expected, bulk.leave, bulk.worked, bulk.overtime) == (
            account.opens, account.expected, account.leave, account.worked, account.overtime,
        ), person.name  # fmt: skip
        assert (bulk.carried_in, bulk.carried_out) == (account.carried_in, account.carried_out), person.name
    assert totals[people[0].id].carried_in != 0
    assert totals[people[3].id].opens == date(2026, 4, 9)
    assert totals[people[4].id].opens is None
