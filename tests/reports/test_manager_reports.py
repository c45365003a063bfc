"""A Manager reads the people reports over their team only; budgets stay with HR and Admin."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.timesheets.factories import auth, make_allocation, make_attendance, make_employee, make_project


def _get(handle: TenantHandle, token: str, path: str) -> Any:
    return handle.client().get(path, **auth(token))


def test_a_managers_reports_cover_their_team_and_hr_sees_everyone(alpha: TenantHandle) -> None:
    boss_user = make_user(alpha, f"boss-{uuid.uuid4().hex[:6]}@alpha.test", "Manager")
    boss = make_employee(alpha, name="Boss", user=boss_user)
    mine = make_employee(alpha, name="Team Member", manager=boss)
    other = make_employee(alpha, name="Someone Else")
    apollo = make_project(alpha, code="APOLLO", budget_hours="100")
    for person, hours in ((mine, "6.00"), (other, "5.00")):
        make_attendance(alpha, person, day=date(2026, 3, 2))
        make_allocation(alpha, person, apollo, day=date(2026, 3, 2), hours=hours)
    period = "date_from=2026-03-01&date_to=2026-03-31"
    manager_token = token_for(alpha, boss_user)
    hr_token = token_for(alpha, make_user(alpha, f"hr-{uuid.uuid4().hex[:6]}@alpha.test", "HR"))

    by_employee = _get(alpha, manager_token, f"/api/reports/hours?group_by=employee&{period}").json()
    assert [row[1] for row in by_employee["rows"]] == ["Team Member"]
    assert by_employee["totals"]["hours"] == "6.00"
    everyone = _get(alpha, hr_token, f"/api/reports/hours?group_by=employee&{period}").json()
    assert sorted(row[1] for row in everyone["rows"]) == ["Someone Else", "Team Member"]
    assert everyone["totals"]["hours"] == "11.00"

    utilisation = _get(alpha, manager_token, f"/api/reports/utilisation?{period}").json()
    assert {row[1] for row in utilisation["rows"]} == {"Boss", "Team Member"}  # their own record and their team
    assert _get(alpha, manager_token, "/api/reports/budgets").status_code == 403

    client = alpha.client()
    assert client.post("/login", {"username": boss_user.username, "password": PASSWORD}).status_code == 302
    page = client.get(f"/reports?report=hours&group_by=employee&{period}").content.decode()
    assert "Team Member" in page
    assert "Someone Else" not in page
    assert 'value="budgets"' not in page


def test_a_manager_decides_their_teams_leave_and_acknowledges_its_violations_but_not_their_own(
    alpha: TenantHandle,
) -> None:
    from django_tenants.utils import tenant_context

    from worktime.models import ComplianceViolation, LeaveRecord

    boss_user = make_user(alpha, f"boss-{uuid.uuid4().hex[:6]}@alpha.test", "Manager")
    boss = make_employee(alpha, name="Boss", user=boss_user)
    mine = make_employee(alpha, name="Team Member", manager=boss)
    other = make_employee(alpha, name="Someone Else")
    with tenant_context(alpha.tenant):
        requests = {
            person.name: LeaveRecord.objects.create(
                employee=person,
                leave_type_id="vacation",
                start_date=date(2026, 3, 9),
                end_date=date(2026, 3, 10),
                status="requested",
            )
            for person in (boss, mine, other)
        }
        violation = ComplianceViolation.objects.create(
            employee=mine, date=date(2026, 3, 2), rule="daily_max", message="10.5 h worked", measured=10.5, limit=10
        )
    token = token_for(alpha, boss_user)
    decide = "/api/leave/{}/decide"
    body = {"approve": True, "comment": ""}
    client = alpha.client()
    ok = client.post(decide.format(requests["Team Member"].id), body, content_type="application/json", **auth(token))
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "approved"
    for name in ("Someone Else", "Boss"):  # not their team; their own leave is decided by someone else
        refused = client.post(decide.format(requests[name].id), body, content_type="application/json", **auth(token))
        assert refused.status_code == 404, name
    acknowledged = client.post(
        f"/api/compliance/violations/{violation.id}/acknowledge",
        {"comment": "Client go-live."},
        content_type="application/json",
        **auth(token),
    )
    assert acknowledged.status_code == 200, acknowledged.content
