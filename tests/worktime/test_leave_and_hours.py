"""Calendar, leave and contracts through the API, and the expected hours they add up to."""

from __future__ import annotations

from datetime import date
from typing import Any

from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tests.conftest import TenantHandle
from tests.timesheets.factories import auth, employee_user, make_attendance, make_employee, staff_token
from worktime.models import Contract, LeaveRecord


def _json(handle: TenantHandle, method: str, path: str, token: str, body: Any = None) -> Any:
    call = getattr(handle.client(), method)
    if body is None:
        return call(path, **auth(token))
    return call(path, body, content_type="application/json", **auth(token))


def _hours(handle: TenantHandle, token: str, employee_id: Any, start: str, end: str) -> Any:
    response = handle.client().get(
        "/api/worktime/expected-hours",
        {"employee": str(employee_id), "date_from": start, "date_to": end},
        **auth(token),
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_public_holidays_come_from_the_company_country_and_an_employees_own_location(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    berlin_calendar = {"country": "DE", "subdivision": "BE"}
    assert _json(alpha, "put", "/api/worktime/calendar", token, berlin_calendar).status_code == 200
    berlin, munich = make_employee(alpha), make_employee(alpha)
    munich_contract = {
        "employee": str(munich.id),
        "starts_on": "2026-01-01",
        "weekly_hours": "40.0",
        "work_days": [1, 2, 3, 4, 5],
        "country": "DE",
        "subdivision": "BY",
    }
    assert _json(alpha, "post", "/api/contracts", token, munich_contract).status_code == 201

    # 6 January (Epiphany) is a holiday in Bavaria, not in Berlin; 1 January everywhere in Germany.
    in_berlin = _hours(alpha, token, berlin.id, "2026-01-01", "2026-01-06")
    in_munich = _hours(alpha, token, munich.id, "2026-01-01", "2026-01-06")

    berlin_days = {day["date"]: day for day in in_berlin["days"]}
    munich_days = {day["date"]: day for day in in_munich["days"]}
    assert berlin_days["2026-01-01"]["holiday_name"] == munich_days["2026-01-01"]["holiday_name"] != ""
    assert berlin_days["2026-01-06"]["expected"] == "8.00"
    assert munich_days["2026-01-06"]["expected"] == "0.00"
    assert munich_days["2026-01-06"]["holiday_name"] == "Epiphany"
    # Thu 1 (holiday), Fri 2, Sat, Sun, Mon 5, Tue 6: three working days in Berlin, two in Munich.
    assert in_berlin["expected"] == "24.00"
    assert in_munich["expected"] == "16.00"


def test_an_unknown_country_or_subdivision_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    unknown = _json(alpha, "put", "/api/worktime/calendar", token, {"country": "QQ"})
    assert unknown.status_code == 400
    assert "country" in unknown.json()["error"]["fields"]
    wrong_region = _json(alpha, "put", "/api/worktime/calendar", token, {"country": "DE", "subdivision": "XX"})
    assert wrong_region.status_code == 400
    assert "subdivision" in wrong_region.json()["error"]["fields"]


def test_an_unknown_country_leaves_the_calendar_and_contracts_as_they_were(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    assert (
        _json(alpha, "put", "/api/worktime/calendar", token, {"country": "DE", "subdivision": "BE"}).status_code == 200
    )
    assert _json(alpha, "put", "/api/worktime/calendar", token, {"country": "QQ"}).status_code == 400
    person = make_employee(alpha)
    terms = {"employee": str(person.id), "starts_on": "2026-01-01", "weekly_hours": "40.0", "country": "QQ"}

    abroad = _json(alpha, "post", "/api/contracts", token, terms)

    assert abroad.status_code == 400
    assert "country" in abroad.json()["error"]["fields"]
    calendar = _json(alpha, "get", "/api/worktime/calendar", token).json()
    assert (calendar["country"], calendar["subdivision"]) == ("DE", "BE")
    with tenant_context(alpha.tenant):
        assert not Contract.objects.filter(employee=person).exists()
        assert not AuditEvent.objects.filter(action="contract.create", data__employee=str(person.id)).exists()


def test_a_new_contract_closes_the_open_one_and_history_keeps_the_old_hours(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    full = {"employee": str(person.id), "starts_on": "2026-01-05", "weekly_hours": "40.0", "work_days": [1, 2, 3, 4, 5]}
    part = {"employee": str(person.id), "starts_on": "2026-01-12", "weekly_hours": "24.0", "work_days": [1, 2, 3]}
    assert _json(alpha, "post", "/api/contracts", token, full).status_code == 201
    assert _json(alpha, "post", "/api/contracts", token, part).status_code == 201

    weeks = _hours(alpha, token, person.id, "2026-01-05", "2026-01-18")

    by_day = {day["date"]: day["expected"] for day in weeks["days"]}
    assert by_day["2026-01-09"] == "8.00"  # Friday under the first contract
    assert by_day["2026-01-12"] == "8.00"  # Monday: 24 h over three days
    assert by_day["2026-01-16"] == "0.00"  # Friday is not a work day any more
    assert weeks["expected"] == "64.00"
    listing = _json(alpha, "get", f"/api/contracts?employee={person.id}", token).json()["results"]
    assert [(row["starts_on"], row["ends_on"]) for row in listing] == [
        ("2026-01-05", "2026-01-11"),
        ("2026-01-12", None),
    ]


def test_a_contract_starting_inside_a_closed_one_is_a_409(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    closed = {
        "employee": str(person.id),
        "starts_on": "2026-01-01",
        "ends_on": "2026-06-30",
        "weekly_hours": "40.0",
        "work_days": [1, 2, 3, 4, 5],
    }
    assert _json(alpha, "post", "/api/contracts", token, closed).status_code == 201
    clash = _json(alpha, "post", "/api/contracts", token, {**closed, "starts_on": "2026-03-01", "ends_on": None})
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "contract_overlap"
    backwards = _json(alpha, "post", "/api/contracts", token, {**closed, "starts_on": "2027-01-01"})
    assert backwards.status_code == 400
    assert "ends_on" in backwards.json()["error"]["fields"]


def test_a_contract_starting_the_day_before_the_employee_is_a_400_and_on_the_day_is_accepted(
    alpha: TenantHandle,
) -> None:
    token = staff_token(alpha)
    hired = _json(
        alpha,
        "post",
        "/api/employees",
        token,
        {"name": "New Starter", "email": "starter@alpha.test", "start_date": "2026-04-01"},
    )
    assert hired.status_code == 201, hired.json()
    assert hired.json()["start_date"] == "2026-04-01"
    terms = {"employee": hired.json()["id"], "weekly_hours": "40.0", "work_days": [1, 2, 3, 4, 5]}

    early = _json(alpha, "post", "/api/contracts", token, {**terms, "starts_on": "2026-03-31"})

    assert early.status_code == 400
    message = "Must be on or after the employee's start date, 2026-04-01."
    assert early.json()["error"]["fields"]["starts_on"] == [message]
    with tenant_context(alpha.tenant):
        assert not Contract.objects.filter(employee_id=hired.json()["id"]).exists()
        assert not AuditEvent.objects.filter(action="contract.create", data__employee=hired.json()["id"]).exists()
    on_the_day = _json(alpha, "post", "/api/contracts", token, {**terms, "starts_on": "2026-04-01"})
    assert on_the_day.status_code == 201, on_the_day.json()


def test_an_earlier_contract_before_a_later_set_start_date_stays_but_a_new_one_is_refused(
    alpha: TenantHandle,
) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)  # a record from before start dates: no start date, so nothing is bounded
    terms = {"employee": str(person.id), "weekly_hours": "40.0", "work_days": [1, 2, 3, 4, 5]}
    assert _json(alpha, "post", "/api/contracts", token, {**terms, "starts_on": "2025-01-01"}).status_code == 201

    set_start = _json(alpha, "patch", f"/api/employees/{person.id}", token, {"start_date": "2026-01-01"})
    assert set_start.status_code == 200, set_start.json()
    assert set_start.json()["start_date"] == "2026-01-01"

    refused = _json(alpha, "post", "/api/contracts", token, {**terms, "starts_on": "2025-12-31"})
    assert refused.status_code == 400
    assert "starts_on" in refused.json()["error"]["fields"]
    with tenant_context(alpha.tenant):
        # The refused contract did not close the open one either: nothing half-written.
        assert list(Contract.objects.filter(employee=person).values_list("starts_on", "ends_on")) == [
            (date(2025, 1, 1), None)
        ]


def test_a_start_date_out_of_range_or_not_a_date_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    for bad in ("1999-12-31", "2026-02-30", "soon", 20260101):
        response = _json(alpha, "patch", f"/api/employees/{person.id}", token, {"start_date": bad})
        assert response.status_code == 400, bad
        assert "start_date" in response.json()["error"]["fields"]
    with tenant_context(alpha.tenant):
        person.refresh_from_db()
        assert person.start_date is None


def test_approved_leave_takes_its_hours_off_and_overtime_is_what_was_worked_beyond(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)  # 40 h a week, Monday to Friday, by default
    vacation = {
        "employee": str(person.id),
        "leave_type": "vacation",
        "start_date": "2026-03-02",
        "end_date": "2026-03-03",
    }
    half = {**vacation, "start_date": "2026-03-04", "end_date": "2026-03-04", "portion": "half_day"}
    assert _json(alpha, "post", "/api/leave", token, vacation).status_code == 201
    assert _json(alpha, "post", "/api/leave", token, half).status_code == 201
    make_attendance(alpha, person, day=date(2026, 3, 4), hours=5)
    make_attendance(alpha, person, day=date(2026, 3, 5), hours=9)

    week = _hours(alpha, token, person.id, "2026-03-02", "2026-03-06")

    assert [day["expected"] for day in week["days"]] == ["0.00", "0.00", "4.00", "8.00", "8.00"]
    assert week["leave"] == "20.00"
    assert week["worked"] == "14.00"
    assert week["overtime"] == "-6.00"  # Friday not worked: -8, Wednesday +1, Thursday +1


def test_an_employee_requests_leave_for_themselves_and_hr_decides(alpha: TenantHandle) -> None:
    _, _, own_token = employee_user(alpha)
    other = make_employee(alpha)
    request = {"leave_type": "vacation", "start_date": "2026-05-04", "end_date": "2026-05-08", "note": "Lisbon"}

    created = _json(alpha, "post", "/api/leave", own_token, request)
    for_someone_else = _json(alpha, "post", "/api/leave", own_token, {**request, "employee": str(other.id)})

    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "requested"
    assert for_someone_else.status_code == 403
    hr = staff_token(alpha)
    leave_id = created.json()["id"]
    approved = _json(alpha, "post", f"/api/leave/{leave_id}/decide", hr, {"approve": True, "comment": "Enjoy"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    again = _json(alpha, "post", f"/api/leave/{leave_id}/decide", hr, {"approve": False})
    assert again.status_code == 409
    assert _json(alpha, "post", f"/api/leave/{leave_id}/decide", own_token, {"approve": True}).status_code == 403
    with tenant_context(alpha.tenant):
        actions = list(AuditEvent.objects.filter(object_id=leave_id).values_list("action", flat=True))
    assert sorted(actions) == ["leave.approve", "leave.request"]


def test_sick_leave_needs_no_approval_even_when_the_employee_enters_it(alpha: TenantHandle) -> None:
    _, _, own_token = employee_user(alpha)
    sick = {"leave_type": "sick", "start_date": "2026-05-11", "end_date": "2026-05-11"}
    response = _json(alpha, "post", "/api/leave", own_token, sick)
    assert response.status_code == 201
    assert response.json()["status"] == "approved"


def test_overlapping_leave_is_a_409_and_nothing_is_written(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    first = {"employee": str(person.id), "leave_type": "vacation", "start_date": "2026-07-01", "end_date": "2026-07-10"}
    assert _json(alpha, "post", "/api/leave", token, first).status_code == 201

    clash = _json(alpha, "post", "/api/leave", token, {**first, "start_date": "2026-07-10", "end_date": "2026-07-12"})

    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "leave_overlap"
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.filter(employee=person).count() == 1


def test_a_leave_import_with_one_bad_row_names_the_row_and_writes_nothing(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    people = [make_employee(alpha) for _ in range(3)]
    rows = [
        {"employee": str(person.id), "leave_type": "vacation", "start_date": "2026-08-03", "end_date": "2026-08-07"}
        for person in people
    ]
    rows[1] = {**rows[1], "portion": "hours", "hours": "30"}
    rows.append({**rows[0], "start_date": "2026-08-05", "end_date": "2026-08-06"})  # overlaps row 0

    response = _json(alpha, "post", "/api/leave/import", token, rows)

    assert response.status_code == 400
    refused = response.json()["error"]["fields"]["rows"]
    assert set(refused) == {"1", "3"}
    assert "hours" in refused["1"]
    assert "start_date" in refused["3"]
    with tenant_context(alpha.tenant):
        assert not LeaveRecord.objects.filter(employee__in=people).exists()
    good = _json(alpha, "post", "/api/leave/import", token, rows[:1] + rows[2:3])
    assert good.status_code == 201
    assert good.json() == {"created": 2}


def test_the_balance_is_the_entitlement_less_the_working_days_taken(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    entitlement = {"employee": str(person.id), "leave_type": "vacation", "year": 2026, "days": "25.0"}
    assert _json(alpha, "put", "/api/leave/entitlements", token, entitlement).status_code == 200
    # Mon 6 April 2026 is Easter Monday in Germany: a week of vacation over it takes four days.
    assert _json(alpha, "put", "/api/worktime/calendar", token, {"country": "DE"}).status_code == 200
    week = {"employee": str(person.id), "leave_type": "vacation", "start_date": "2026-04-06", "end_date": "2026-04-12"}
    half = {**week, "start_date": "2026-04-13", "end_date": "2026-04-13", "portion": "half_day"}
    assert _json(alpha, "post", "/api/leave", token, week).status_code == 201
    assert _json(alpha, "post", "/api/leave", token, half).status_code == 201

    balances = _json(alpha, "get", f"/api/leave/balances?employee={person.id}&year=2026", token).json()

    assert balances == [{"leave_type": "vacation", "entitled": "25.0", "taken": "4.5", "remaining": "20.5"}]


def test_another_tenants_employee_and_leave_are_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    leave = {"employee": str(person.id), "leave_type": "vacation", "start_date": "2026-09-01", "end_date": "2026-09-01"}
    leave_id = _json(alpha, "post", "/api/leave", token, leave).json()["id"]
    beta_token = staff_token(beta)

    # A reference in a body or query string is a field error, as everywhere in the API; an object path is a 404.
    foreign = _json(beta, "post", "/api/leave", beta_token, leave)
    assert foreign.status_code == 400
    assert foreign.json()["error"]["fields"] == {"employee": ["No such employee."]}
    assert _json(beta, "post", f"/api/leave/{leave_id}/decide", beta_token, {"approve": True}).status_code == 404
    assert _json(beta, "post", f"/api/leave/{leave_id}/decide", beta_token, {}).status_code == 404
    hours = beta.client().get(
        "/api/worktime/expected-hours",
        {"employee": str(person.id), "date_from": "2026-09-01", "date_to": "2026-09-02"},
        **auth(beta_token),
    )
    assert hours.status_code == 400
    assert "employee" in hours.json()["error"]["fields"]


def test_bad_leave_input_is_a_400_with_field_messages(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    base = {"employee": str(person.id), "leave_type": "vacation", "start_date": "2026-10-05", "end_date": "2026-10-02"}
    backwards = _json(alpha, "post", "/api/leave", token, base)
    assert backwards.status_code == 400
    assert "end_date" in backwards.json()["error"]["fields"]
    unknown_type = _json(alpha, "post", "/api/leave", token, {**base, "end_date": "2026-10-05", "leave_type": "moon"})
    assert unknown_type.status_code == 400
    assert "leave_type" in unknown_type.json()["error"]["fields"]
    nan_hours = {**base, "end_date": "2026-10-05", "portion": "hours", "hours": "NaN"}
    assert _json(alpha, "post", "/api/leave", token, nan_hours).status_code == 400


def test_leave_imports_from_a_csv_and_a_bad_csv_row_names_its_row(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    first, second = make_employee(alpha), make_employee(alpha)
    body = (
        "employee,leave_type,start_date,end_date,portion,hours,note\n"
        f"{first.id},vacation,2026-11-02,2026-11-06,full_day,,autumn\n"
        f"{second.id},training,2026-11-03,2026-11-03,hours,3.5,course\n"
    )
    created = alpha.client().post("/api/leave/import", body, content_type="text/csv", **auth(token))
    assert created.status_code == 201, created.json()
    assert created.json() == {"created": 2}
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.get(employee=second).hours == 3.5

    bad = f"employee,leave_type,start_date,end_date\n{first.id},vacation,2026-12-01,not-a-date\n"
    refused = alpha.client().post("/api/leave/import", bad, content_type="text/csv", **auth(token))
    assert refused.status_code == 400
    assert "end_date" in refused.json()["error"]["fields"]["rows"]["0"]


def test_a_number_where_the_schema_says_string_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    for body, field in (
        ({"code": 12, "name": "Sabbatical"}, "code"),
        ({"code": "sabbatical", "name": 12}, "name"),
    ):
        response = _json(alpha, "post", "/api/leave-types", token, body)
        assert response.status_code == 400, body
        assert field in response.json()["error"]["fields"]
    accepted = _json(alpha, "post", "/api/leave-types", token, {"code": "sabbatical", "name": "Sabbatical"})
    assert accepted.status_code == 201, accepted.content
