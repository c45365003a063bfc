"""Employees API: CRUD for HR and Admin, own record only for the Employee role, PII encrypted and masked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle, make_user
from tests.timesheets.factories import LIST_QUERY_BUDGET, auth, employee_user, make_employee, staff_token, warm_up
from timesheets.models import Employee
from timesheets.services import records as services

NEW_EMPLOYEE = {
    "name": "Jane Doe",
    "email": "Jane.Doe@alpha.test",
    "jira_account_id": "5b10ac8d82e05b22cc7d4ef5",
    "weekly_hours": "32.0",
    "national_id": "AB-123-456",
    "bank_account": "DE89 3704 0044 0532 0130 00",
    "salary": "65000.00",
}


def _post(handle: TenantHandle, token: str, body: Any) -> Any:
    return handle.client().post("/api/employees", body, content_type="application/json", **auth(token))


def _patch(handle: TenantHandle, token: str, employee_id: Any, body: Any) -> Any:
    return handle.client().patch(f"/api/employees/{employee_id}", body, content_type="application/json", **auth(token))


def test_hr_creates_an_employee_and_sees_their_pii(alpha: TenantHandle) -> None:
    token = staff_token(alpha, "HR")
    response = _post(alpha, token, NEW_EMPLOYEE)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["national_id"] == "AB-123-456"
    assert created["bank_account"] == "DE89 3704 0044 0532 0130 00"
    assert created["salary"] == "65000.00"
    assert created["weekly_hours"] == "32.0"
    assert created["user"] is None

    detail = alpha.client().get(f"/api/employees/{created['id']}", **auth(token))
    assert detail.status_code == 200
    assert detail.json()["national_id"] == "AB-123-456"


def test_an_admin_may_create_employees_too(alpha: TenantHandle) -> None:
    assert _post(alpha, staff_token(alpha, "Admin"), NEW_EMPLOYEE).status_code == 201


def test_it_stores_pii_only_as_ciphertext(alpha: TenantHandle) -> None:
    employee_id = _post(alpha, staff_token(alpha), NEW_EMPLOYEE).json()["id"]
    with tenant_context(alpha.tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_id, bank_account, salary, email_index, national_id_index "
            "FROM timesheets_employee WHERE id = %s",
            [employee_id],
        )
        national_id, bank_account, salary, email_index, national_id_index = cursor.fetchone()
    for stored, plain in ((national_id, "AB-123-456"), (bank_account, "3704 0044"), (salary, "65000")):
        assert stored.startswith("v1:")
        assert plain not in stored
    assert "jane" not in email_index.lower()
    assert "AB-123" not in national_id_index


def test_an_employee_sees_only_their_own_record_with_pii_masked(alpha: TenantHandle) -> None:
    user, own, token = employee_user(alpha, national_id="ZZ-999", bank_account="NL91ABNA0417164300")
    other = make_employee(alpha, national_id="YY-111")

    listing = alpha.client().get("/api/employees", **auth(token))
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert [row["id"] for row in rows] == [str(own.id)]
    assert rows[0]["national_id"] is None
    assert rows[0]["bank_account"] is None
    assert rows[0]["salary"] is None
    assert rows[0]["user"] == user.pk

    own_detail = alpha.client().get(f"/api/employees/{own.id}", **auth(token))
    assert own_detail.status_code == 200
    assert own_detail.json()["national_id"] is None
    assert alpha.client().get(f"/api/employees/{other.id}", **auth(token)).status_code == 404


def test_an_employee_cannot_create_change_or_delete_employees(alpha: TenantHandle) -> None:
    _, own, token = employee_user(alpha)
    assert _post(alpha, token, NEW_EMPLOYEE).status_code == 403
    assert _patch(alpha, token, own.id, {"name": "Me, promoted"}).status_code == 403
    assert alpha.client().delete(f"/api/employees/{own.id}", **auth(token)).status_code == 403
    assert _post(alpha, token, NEW_EMPLOYEE).json()["error"]["code"] == "permission_denied"


def test_it_rejects_a_duplicate_email_whatever_its_case(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    assert _post(alpha, token, NEW_EMPLOYEE).status_code == 201
    again = _post(alpha, token, {**NEW_EMPLOYEE, "email": " jane.doe@ALPHA.test", "national_id": "OTHER-1"})
    assert again.status_code == 400
    assert list(again.json()["error"]["fields"]) == ["email"]


def test_it_rejects_a_duplicate_national_id(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    assert _post(alpha, token, NEW_EMPLOYEE).status_code == 201
    again = _post(alpha, token, {**NEW_EMPLOYEE, "email": "someone.else@alpha.test"})
    assert again.status_code == 400
    assert list(again.json()["error"]["fields"]) == ["national_id"]


def test_a_duplicate_that_slips_past_the_check_still_answers_400(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = staff_token(alpha)
    assert _post(alpha, token, NEW_EMPLOYEE).status_code == 201
    # As if a concurrent request inserted the same email between our check and our insert.
    monkeypatch.setattr(services, "_employee_check_unique", lambda **_: None)
    again = _post(alpha, token, {**NEW_EMPLOYEE, "national_id": None})
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"email": ["An employee with this email already exists."]}


def test_a_user_can_be_linked_to_one_employee_only(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    linked_user, _, _ = employee_user(alpha)
    response = _post(alpha, token, {**NEW_EMPLOYEE, "user": linked_user.pk})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["user"]
    unknown = _post(alpha, token, {**NEW_EMPLOYEE, "user": 987654321})
    assert unknown.status_code == 400
    assert list(unknown.json()["error"]["fields"]) == ["user"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_EMPLOYEE, "email": "not-an-email"}, "email"),
        ({**NEW_EMPLOYEE, "name": ""}, "name"),
        # Longer than the schema's maxLength as sent, even though it would fit once its blanks were trimmed.
        ({**NEW_EMPLOYEE, "name": "\n" + "x" * 200}, "name"),
        ({**NEW_EMPLOYEE, "salary": "-1"}, "salary"),
        ({**NEW_EMPLOYEE, "weekly_hours": "200"}, "weekly_hours"),
        ([NEW_EMPLOYEE], "non_field_errors"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(alpha: TenantHandle, body: Any, field: str) -> None:
    response = _post(alpha, staff_token(alpha), body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_it_answers_400_for_a_malformed_id_or_filter(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    detail = alpha.client().get("/api/employees/not-a-uuid", **auth(token))
    assert detail.status_code == 400
    assert detail.json()["error"]["fields"] == {"id": ["Must be a valid UUID."]}
    assert _patch(alpha, token, "12345", {"name": "x"}).status_code == 400
    listing = alpha.client().get("/api/employees?active=perhaps", **auth(token))
    assert listing.status_code == 400
    assert "active" in listing.json()["error"]["fields"]
    assert alpha.client().get("/api/employees?page=zero", **auth(token)).status_code == 400


def test_another_tenants_employee_is_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    theirs = make_employee(beta)
    token = staff_token(alpha)
    assert alpha.client().get(f"/api/employees/{theirs.id}", **auth(token)).status_code == 404
    assert _patch(alpha, token, theirs.id, {"name": "Taken over"}).status_code == 404
    assert alpha.client().delete(f"/api/employees/{theirs.id}", **auth(token)).status_code == 404
    assert alpha.client().get(f"/api/employees/{uuid.uuid4()}", **auth(token)).status_code == 404


def test_a_token_of_another_tenant_is_rejected(alpha: TenantHandle, beta: TenantHandle) -> None:
    response = beta.client().get("/api/employees", **auth(staff_token(alpha)))
    assert response.status_code == 401


def test_it_finds_an_employee_by_email_through_the_blind_index(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    make_employee(alpha, email="someone@alpha.test")
    wanted = make_employee(alpha, email="wanted@alpha.test")
    response = alpha.client().get("/api/employees?email=WANTED@alpha.test", **auth(token))
    assert [row["id"] for row in response.json()["results"]] == [str(wanted.id)]
    assert alpha.client().get("/api/employees?email=nobody@alpha.test", **auth(token)).json()["count"] == 0


def test_it_filters_by_active(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    active = make_employee(alpha)
    inactive = make_employee(alpha, active=False)
    ids = {row["id"] for row in alpha.client().get("/api/employees?active=false", **auth(token)).json()["results"]}
    assert ids == {str(inactive.id)}
    ids = {row["id"] for row in alpha.client().get("/api/employees?active=true", **auth(token)).json()["results"]}
    assert ids == {str(active.id)}


def test_hr_updates_email_and_national_id_and_the_indexes_follow(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    employee_id = _post(alpha, token, NEW_EMPLOYEE).json()["id"]
    response = _patch(alpha, token, employee_id, {"email": "jane@new.test", "national_id": None, "salary": "70000"})
    assert response.status_code == 200, response.json()
    assert response.json()["email"] == "jane@new.test"
    assert response.json()["national_id"] is None
    assert response.json()["salary"] == "70000.00"
    assert response.json()["bank_account"] == NEW_EMPLOYEE["bank_account"]  # untouched ciphertext kept
    found = alpha.client().get("/api/employees?email=jane@new.test", **auth(token)).json()["results"]
    assert [row["id"] for row in found] == [employee_id]
    with tenant_context(alpha.tenant):
        assert Employee.objects.get(id=employee_id).national_id_index is None
    # The old national id is free again.
    assert _post(alpha, token, {**NEW_EMPLOYEE, "email": "another@alpha.test"}).status_code == 201


def test_an_update_to_a_taken_email_is_rejected(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    make_employee(alpha, email="taken@alpha.test")
    mine = make_employee(alpha)
    response = _patch(alpha, token, mine.id, {"email": "Taken@alpha.test"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["email"]


def test_delete_deactivates_the_employee_and_can_be_repeated(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    employee = make_employee(alpha)
    assert alpha.client().delete(f"/api/employees/{employee.id}", **auth(token)).status_code == 204
    assert alpha.client().delete(f"/api/employees/{employee.id}", **auth(token)).status_code == 204
    detail = alpha.client().get(f"/api/employees/{employee.id}", **auth(token)).json()
    assert detail["active"] is False


def test_writes_append_audit_events_without_personal_values(alpha: TenantHandle) -> None:
    from audit.models import AuditEvent

    token = staff_token(alpha)
    employee_id = _post(alpha, token, NEW_EMPLOYEE).json()["id"]
    _patch(alpha, token, employee_id, {"salary": "1.00"})
    with tenant_context(alpha.tenant):
        events = list(AuditEvent.objects.filter(object_id=employee_id).order_by("sequence"))
    assert [event.action for event in events] == ["employee.create", "employee.update"]
    assert events[1].data == {"fields": ["salary"]}
    assert "AB-123" not in str([event.data for event in events])


def test_the_list_costs_the_same_queries_for_3_or_30_employees(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    token = staff_token(alpha)
    for _ in range(3):
        make_employee(alpha, national_id=f"N-{uuid.uuid4().hex[:8]}", salary="1000")
    warm_up(alpha, token)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as few:
        assert alpha.client().get("/api/employees", **auth(token)).json()["count"] == 3
    for _ in range(27):
        make_employee(alpha, national_id=f"N-{uuid.uuid4().hex[:8]}", salary="1000")
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as many:
        assert alpha.client().get("/api/employees", **auth(token)).json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_employee_without_a_linked_record_sees_an_empty_list(alpha: TenantHandle) -> None:
    from tests.conftest import token_for

    make_employee(alpha)
    token = token_for(alpha, make_user(alpha, "loner@alpha.test", "Employee"))
    assert alpha.client().get("/api/employees", **auth(token)).json()["count"] == 0
