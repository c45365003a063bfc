"""Leave in a closed pay period: its expected and leave hours went to payroll, so it cannot change (409)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import auth, employee_user, make_employee, staff_token
from timesheets.services.periods import pay_period_close
from worktime.models import LeaveRecord, LeaveStatus

IN_MARCH = date(2026, 3, 10)


def _close_march(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant):
        pay_period_close(actor=None, day=IN_MARCH, override=True, override_reason="Payroll has run")


def _post(handle: TenantHandle, path: str, token: str, body: Any) -> Any:
    return handle.client().post(path, body, content_type="application/json", **auth(token))


def _leave(employee: Any, start: str, end: str) -> dict[str, str]:
    return {"employee": str(employee.id), "leave_type": "vacation", "start_date": start, "end_date": end}


def test_leave_recorded_in_a_closed_period_is_a_409_naming_the_period_and_nothing_is_written(
    alpha: TenantHandle,
) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    _close_march(alpha)

    # From the last day of March into April: one day inside the closed period is enough to refuse it.
    refused = _post(alpha, "/api/leave", token, _leave(person, "2026-03-31", "2026-04-02"))
    allowed = _post(alpha, "/api/leave", token, _leave(person, "2026-04-06", "2026-04-07"))

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "period_locked"
    assert "start_date" in error["fields"]
    assert "2026-03-01 to 2026-03-31" in error["message"]
    assert allowed.status_code == 201
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.filter(employee=person).count() == 1


def test_an_import_with_one_row_in_a_closed_period_names_the_row_and_writes_nothing(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    _close_march(alpha)

    response = _post(
        alpha,
        "/api/leave/import",
        token,
        [_leave(person, "2026-04-13", "2026-04-14"), _leave(person, "2026-03-16", "2026-03-16")],
    )

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "rows": {"1": {"start_date": ["In the closed pay period 2026-03-01 to 2026-03-31."]}}
    }
    with tenant_context(alpha.tenant):
        assert not LeaveRecord.objects.filter(employee=person).exists()


def test_a_request_in_a_period_closed_since_cannot_be_approved_but_can_be_rejected(alpha: TenantHandle) -> None:
    hr = staff_token(alpha)
    _, _, own_token = employee_user(alpha)
    first = _post(
        alpha, "/api/leave", own_token, {"leave_type": "vacation", "start_date": "2026-03-19", "end_date": "2026-03-20"}
    )
    second = _post(
        alpha, "/api/leave", own_token, {"leave_type": "vacation", "start_date": "2026-03-23", "end_date": "2026-03-23"}
    )
    assert (first.json()["status"], second.json()["status"]) == ("requested", "requested")
    _close_march(alpha)

    approved = _post(alpha, f"/api/leave/{first.json()['id']}/decide", hr, {"approve": True})
    rejected = _post(alpha, f"/api/leave/{second.json()['id']}/decide", hr, {"approve": False, "comment": "Too late"})

    assert approved.status_code == 409
    assert approved.json()["error"]["code"] == "period_locked"
    assert rejected.status_code == 200
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.get(pk=first.json()["id"]).status == LeaveStatus.REQUESTED
        assert LeaveRecord.objects.get(pk=second.json()["id"]).status == LeaveStatus.REJECTED


def test_approved_leave_in_a_closed_period_cannot_be_cancelled(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    recorded = _post(alpha, "/api/leave", token, _leave(person, "2026-03-09", "2026-03-09"))
    assert recorded.status_code == 201
    _close_march(alpha)

    response = _post(alpha, f"/api/leave/{recorded.json()['id']}/cancel", token, {})

    assert response.status_code == 409
    with tenant_context(alpha.tenant):
        assert LeaveRecord.objects.get(pk=recorded.json()["id"]).status == LeaveStatus.APPROVED


def test_the_leave_page_shows_the_closed_period_on_the_form(alpha: TenantHandle) -> None:
    client = alpha.client()
    user = make_user(alpha, f"hr-{uuid.uuid4().hex[:6]}@alpha.test", "HR")
    assert client.post("/login", {"username": user.username, "password": PASSWORD}).status_code == 302
    person = make_employee(alpha, name="Locked Leave")
    _close_march(alpha)

    response = client.post(
        "/leave",
        {
            "employee": str(person.id),
            "leave_type": "vacation",
            "start_date": "2026-03-12",
            "end_date": "2026-03-12",
            "portion": "full_day",
        },
    )

    assert response.status_code == 200  # the page again, with the form and its error
    assert "In the closed pay period 2026-03-01 to 2026-03-31." in response.content.decode()
    with tenant_context(alpha.tenant):
        assert not LeaveRecord.objects.filter(employee=person).exists()
