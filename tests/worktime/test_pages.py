"""The leave, compliance and reports pages through Django's test client: forms, errors, roles."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import make_allocation, make_attendance, make_employee, make_project
from timesheets.models import Employee
from worktime.models import Contract, LeaveRecord, LeaveStatus


def _client(handle: TenantHandle, *roles: str) -> tuple[Client, Any]:
    username = f"{'-'.join(roles).lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    user = make_user(handle, username, *roles)
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client, user


def _text(response: Any) -> str:
    return str(response.content.decode())


def test_hr_records_leave_and_the_calendar_marks_its_days(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha, name="Ada Calendar")
    response = client.post(
        "/leave",
        {
            "employee": str(person.id),
            "leave_type": "vacation",
            "start_date": "2026-03-09",
            "end_date": "2026-03-10",
            "portion": "full_day",
        },
        follow=True,
    )
    assert "Leave recorded." in _text(response)

    page = _text(client.get("/leave", {"month": "2026-03"}))

    calendar = page.split('id="leave-calendar"')[1]
    row = calendar.split("Ada Calendar")[1].split("</tr>")[0]
    assert row.count(">VAC<") == 2


def test_an_employee_requests_leave_and_hr_approves_it_on_the_page(alpha: TenantHandle) -> None:
    employee_client, user = _client(alpha, "Employee")
    with tenant_context(alpha.tenant):
        own = Employee.objects.get(pk=make_employee(alpha, name="Requesting Person").pk)
        own.user = user
        own.save(update_fields=["user"])
    requested = employee_client.post(
        "/leave",
        {"leave_type": "vacation", "start_date": "2026-06-01", "end_date": "2026-06-05", "portion": "full_day"},
        follow=True,
    )
    assert "Leave requested." in _text(requested)
    with tenant_context(alpha.tenant):
        record = LeaveRecord.objects.get(employee=own)
    assert record.status == LeaveStatus.REQUESTED

    hr_client, _ = _client(alpha, "HR")
    assert "Requesting Person" in _text(hr_client.get("/leave"))
    decided = hr_client.post(f"/leave/{record.id}/decide", {"decision": "approve", "comment": "ok"}, follow=True)

    assert "approved" in _text(decided)
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.get(pk=record.id).status == LeaveStatus.APPROVED
    assert employee_client.post(f"/leave/{record.id}/decide", {"decision": "reject"}).status_code == 302


def test_a_leave_form_with_dates_out_of_range_shows_the_error_and_writes_nothing(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha)
    response = client.post(
        "/leave",
        {
            "employee": str(person.id),
            "leave_type": "vacation",
            "start_date": "9999-12-31",
            "end_date": "9999-12-31",
            "portion": "full_day",
        },
    )
    assert response.status_code == 200
    assert "Enter a date from 2000-01-01 to 2099-12-31." in _text(response)
    overlapping = {
        "employee": str(person.id),
        "leave_type": "vacation",
        "start_date": "2026-03-02",
        "end_date": "2026-03-04",
        "portion": "full_day",
    }
    client.post("/leave", overlapping)
    clash = client.post("/leave", {**overlapping, "start_date": "2026-03-04", "end_date": "2026-03-06"})
    assert "already has leave" in _text(clash)
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.filter(employee=person).count() == 1


def test_an_odd_month_in_the_leave_calendar_is_an_error_not_a_500(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    for month in ("9999-12", "0001-01", "2026-13", "not-a-month"):
        response = client.get("/leave", {"month": month})
        assert response.status_code == 200, month


def test_the_compliance_page_runs_a_check_and_an_invalid_filter_shows_no_rows(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha, name="Long Day")
    day = date(2026, 3, 2)
    make_attendance(alpha, person, day=day, hours=11)
    checked = client.post(
        "/compliance",
        {"check-preset": "de_arbzg", "check-date_from": "2026-03-01", "check-date_to": "2026-03-07"},
        follow=True,
    )
    assert "Checked" in _text(checked)
    assert "Long Day" in _text(checked)
    invalid = _text(client.get("/compliance", {"date_from": "2026-03-07", "date_to": "2026-03-01"}))
    assert 'id="filter-error"' in invalid
    assert "Long Day" not in invalid
    assert client.get("/compliance", {"date_to": "9999-12-31"}).status_code == 200


def test_the_reports_page_draws_a_chart_with_its_table_and_export_links(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha)
    project = make_project(alpha)
    monday = date(2026, 3, 2)
    for offset in range(3):
        make_allocation(alpha, person, project, day=monday + timedelta(days=offset), hours="6.00")

    page = _text(
        client.get(
            "/reports", {"report": "hours", "group_by": "project", "date_from": "2026-03-01", "date_to": "2026-03-31"}
        )
    )

    assert 'id="report-chart"' in page
    assert page.count('class="bar"') == 1
    assert "18.00" in page
    assert "/api/reports/hours?" in page
    assert "format=csv" in page
    assert "format=xlsx" in page


def test_reports_and_compliance_are_staff_pages(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "Employee")
    for path in ("/reports", "/compliance"):
        response = client.get(path, follow=True)
        assert response.redirect_chain[-1][0] == "/", path
    assert client.get("/leave").status_code == 200


def test_the_contract_form_refuses_a_start_the_day_before_the_employee_and_takes_the_day_itself(
    alpha: TenantHandle,
) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha, name="Late Starter", start_date=date(2026, 4, 1))
    terms = {"employee": str(person.id), "weekly_hours": "40.0", "work_days": ["1", "2", "3", "4", "5"]}

    early = client.post("/contracts", {**terms, "starts_on": "2026-03-31"})

    assert early.status_code == 200
    field = _text(early).split('id="id_starts_on"')[1].split("</div>")[0]
    assert "Must be on or after the employee&#x27;s start date, 2026-04-01." in field
    with tenant_context(alpha.tenant):
        assert not Contract.objects.filter(employee=person).exists()

    on_the_day = client.post("/contracts", {**terms, "starts_on": "2026-04-01"}, follow=True)

    assert "Contract of Late Starter from 01 Apr 2026 added." in _text(on_the_day)
    table = _text(on_the_day).split('id="contracts"')[1]
    assert "1 Apr 2026" in table
    assert "open" in table
    with tenant_context(alpha.tenant):
        assert list(Contract.objects.filter(employee=person).values_list("starts_on", flat=True)) == [date(2026, 4, 1)]


def test_the_employee_form_sets_the_start_date(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha, name="Dated Person")
    page = _text(client.get(f"/employees/{person.id}/edit"))
    assert 'name="start_date"' in page
    response = client.post(
        f"/employees/{person.id}/edit",
        {
            "name": "Dated Person",
            "email": person.email,
            "weekly_hours": "40.0",
            "start_date": "2026-02-02",
            "active": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha.tenant):
        person.refresh_from_db()
        assert person.start_date == date(2026, 2, 2)
    bad = client.post(
        f"/employees/{person.id}/edit",
        {"name": "Dated Person", "email": person.email, "weekly_hours": "40.0", "start_date": "1999-12-31"},
    )
    assert bad.status_code == 200
    assert "Enter a date from 2000-01-01" in _text(bad)


def test_the_contracts_page_is_for_hr_and_admin(alpha: TenantHandle) -> None:
    for role in ("Employee", "Manager"):
        client, _ = _client(alpha, role)
        response = client.get("/contracts", follow=True)
        assert response.redirect_chain[-1][0] == "/", role
    admin_client, _ = _client(alpha, "Admin")
    assert admin_client.get("/contracts").status_code == 200


def test_another_tenants_employee_is_unknown_to_the_contracts_page(alpha: TenantHandle, beta: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    stranger = make_employee(beta, name="Beta Stranger")
    with tenant_context(beta.tenant):
        Contract.objects.create(employee=stranger, starts_on=date(2026, 1, 1), work_days=[1, 2, 3, 4, 5])

    listed = _text(client.get("/contracts", {"employee": str(stranger.id)}))

    assert "Beta Stranger" not in listed
    assert "All contracts" in listed
    posted = client.post(
        "/contracts",
        {"employee": str(stranger.id), "starts_on": "2026-02-02", "weekly_hours": "40.0", "work_days": ["1"]},
    )
    assert posted.status_code == 200
    assert 'id="id_employee"' in _text(posted)
    assert "has-error" in _text(posted).split('id="id_employee"')[0].rsplit('<div class="field', 1)[1]
    with tenant_context(beta.tenant):
        assert Contract.objects.filter(employee=stranger).count() == 1
    with tenant_context(alpha.tenant):
        assert not Contract.objects.filter(employee_id=stranger.id).exists()
