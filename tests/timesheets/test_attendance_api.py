"""Attendance import and listing: whole-batch validation, bulk upsert per employee and day, tenant time zone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django_tenants.utils import tenant_context

from tenants.models import Tenant
from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    LIST_QUERY_BUDGET,
    auth,
    employee_user,
    make_attendance,
    make_employee,
    staff_token,
    warm_up,
)
from timesheets.models import AttendanceRecord


def _post(handle: TenantHandle, token: str, body: Any) -> Any:
    return handle.client().post("/api/attendance", body, content_type="application/json", **auth(token))


def _row(employee_id: Any, day: str = "2026-03-02", **overrides: Any) -> dict[str, Any]:
    row = {
        "employee": str(employee_id),
        "date": day,
        "check_in": f"{day}T09:00:00Z",
        "check_out": f"{day}T17:30:00Z",
        "break_minutes": 30,
    }
    row.update(overrides)
    return row


def _records(handle: TenantHandle) -> list[AttendanceRecord]:
    with tenant_context(handle.tenant):
        return list(AttendanceRecord.objects.order_by("date", "employee_id"))


def test_it_imports_rows_and_computes_worked_hours(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, bob = make_employee(alpha), make_employee(alpha)
    response = _post(alpha, token, [_row(ann.id), _row(bob.id, check_out="2026-03-02T13:20:00Z", break_minutes=0)])
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "updated": 0}
    hours = {record.employee_id: record.worked_hours for record in _records(alpha)}
    assert hours == {ann.id: Decimal("8.00"), bob.id: Decimal("4.33")}


def test_reposting_the_same_rows_updates_instead_of_duplicating(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha)
    assert _post(alpha, token, [_row(ann.id), _row(ann.id, "2026-03-03")]).json() == {"created": 2, "updated": 0}
    again = _post(alpha, token, [_row(ann.id, break_minutes=60), _row(ann.id, "2026-03-04")])
    assert again.json() == {"created": 1, "updated": 1}
    records = _records(alpha)
    assert [(record.date, record.worked_hours) for record in records] == [
        (date(2026, 3, 2), Decimal("7.50")),
        (date(2026, 3, 3), Decimal("8.00")),
        (date(2026, 3, 4), Decimal("8.00")),
    ]


def test_a_bad_row_names_its_index_and_field_and_nothing_is_written(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha)
    rows = [
        _row(ann.id, "2026-03-02"),
        _row(ann.id, "2026-03-03"),
        _row(ann.id, "2026-03-04", check_in="yesterday"),
        _row(ann.id, "2026-03-05", check_out="2026-03-05T08:00:00Z"),
        _row(ann.id, "2026-03-06", break_minutes=600),
        _row("not-a-uuid", "2026-03-07"),
        _row("00000000-0000-0000-0000-000000000000", "2026-03-08"),
        _row(ann.id, "2026-03-02"),
        "not a row",
    ]
    response = _post(alpha, token, rows)
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]["rows"]
    assert set(errors) == {"2", "3", "4", "5", "6", "7", "8"}
    assert list(errors["2"]) == ["check_in"]
    assert errors["3"] == {"check_out": ["Must be after check_in."]}
    assert list(errors["4"]) == ["break_minutes"]
    assert list(errors["5"]) == ["employee"]
    assert errors["6"] == {"employee": ["No such employee."]}
    assert list(errors["7"]) == ["date"]  # same employee and day as row 0
    assert list(errors["8"]) == ["non_field_errors"]
    assert _records(alpha) == []


def test_naive_times_are_in_the_tenants_time_zone_and_the_day_is_check_ins_local_date(alpha: TenantHandle) -> None:
    Tenant.objects.filter(pk=alpha.tenant.pk).update(timezone="Europe/Berlin")
    token = staff_token(alpha)
    ann = make_employee(alpha)
    rows = [
        {"employee": str(ann.id), "check_in": "2026-03-02T08:00:00", "check_out": "2026-03-02T16:00:00"},
        # 23:30 UTC on the 2nd is 00:30 on the 3rd in Berlin.
        {"employee": str(ann.id), "check_in": "2026-03-02T23:30:00+00:00", "check_out": "2026-03-03T07:30:00+00:00"},
    ]
    assert _post(alpha, token, rows).status_code == 200
    records = _records(alpha)
    assert [record.date for record in records] == [date(2026, 3, 2), date(2026, 3, 3)]
    assert records[0].check_in.isoformat() == "2026-03-02T07:00:00+00:00"
    listed = alpha.client().get("/api/attendance", **auth(token)).json()["results"]
    assert listed[0]["check_in"] == "2026-03-02T08:00:00+01:00"

    wrong_day = _post(alpha, token, [{**rows[1], "date": "2026-03-02"}])
    assert wrong_day.status_code == 400
    assert list(wrong_day.json()["error"]["fields"]["rows"]["0"]) == ["date"]


def test_it_rejects_a_body_that_is_not_a_list_of_rows(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha)
    bodies: list[Any] = [_row(ann.id), [], '"rows"', "42"]
    for body in bodies:
        response = _post(alpha, token, body)
        assert response.status_code == 400
        assert "rows" in response.json()["error"]["fields"]
    malformed = _post(alpha, token, "[{")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_request"
    too_many = _post(alpha, token, [_row(ann.id)] * 5001)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["fields"] == {"rows": ["At most 5000 rows per request."]}


def test_an_employee_sees_only_their_own_attendance_and_cannot_import(alpha: TenantHandle) -> None:
    _, own, token = employee_user(alpha)
    other = make_employee(alpha)
    make_attendance(alpha, own, day=date(2026, 3, 2))
    make_attendance(alpha, other, day=date(2026, 3, 2))
    rows = alpha.client().get("/api/attendance", **auth(token)).json()["results"]
    assert [row["employee"] for row in rows] == [str(own.id)]
    filtered = alpha.client().get(f"/api/attendance?employee={other.id}", **auth(token)).json()
    assert filtered["count"] == 0
    assert _post(alpha, token, [_row(own.id)]).status_code == 403


def test_filters_work_and_bad_filters_answer_400(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, bob = make_employee(alpha), make_employee(alpha)
    for day in (1, 2, 3):
        make_attendance(alpha, ann, day=date(2026, 3, day))
    make_attendance(alpha, bob, day=date(2026, 3, 2))
    query = f"/api/attendance?employee={ann.id}&date_from=2026-03-02&date_to=2026-03-03"
    assert [row["date"] for row in alpha.client().get(query, **auth(token)).json()["results"]] == [
        "2026-03-02",
        "2026-03-03",
    ]
    for bad, field in (
        ("employee=123", "employee"),
        ("date_from=2026-13-01", "date_from"),
        ("date_from=2026-03-05&date_to=2026-03-01", "date_to"),
    ):
        response = alpha.client().get(f"/api/attendance?{bad}", **auth(token))
        assert response.status_code == 400, bad
        assert field in response.json()["error"]["fields"], bad


def test_another_tenants_employees_and_tokens_do_not_work_here(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    theirs = make_employee(beta)
    response = _post(alpha, token, [_row(theirs.id)])
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rows"] == {"0": {"employee": ["No such employee."]}}
    assert beta.client().get("/api/attendance", **auth(token)).status_code == 401
    assert _post(beta, token, [_row(theirs.id)]).status_code == 401


def test_the_list_costs_the_same_queries_for_3_or_30_records(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha)
    for day in range(1, 4):
        make_attendance(alpha, ann, day=date(2026, 3, day))
    warm_up(alpha, token)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as few:
        assert alpha.client().get("/api/attendance", **auth(token)).json()["count"] == 3
    for day in range(4, 31):
        make_attendance(alpha, ann, day=date(2026, 3, day))
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as many:
        assert alpha.client().get("/api/attendance", **auth(token)).json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)
