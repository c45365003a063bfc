"""The Manager role: their team (employees whose manager is the Manager's own record) and themselves, no one else."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from core.roles import ROLE_MANAGER
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.timesheets.factories import (
    auth,
    make_allocation,
    make_employee,
    make_project,
    make_suggestion,
    staff_token,
)
from timesheets.models import Employee
from timesheets.selectors import visible_employee_ids
from timesheets.services import suggestions_cache_invalidate

PENDING = "/api/timesheet-intelligence/suggestions/pending"
ACCEPT = "/api/timesheet-intelligence/suggestions/accept"


class Team:
    def __init__(self, handle: TenantHandle) -> None:
        self.user = make_user(handle, "boss@alpha.test", ROLE_MANAGER)
        self.boss = make_employee(handle, name="Boss", user=self.user)
        self.member = make_employee(handle, name="Member", manager=self.boss)
        self.outsider = make_employee(handle, name="Outsider")
        self.token = token_for(handle, self.user)
        with tenant_context(handle.tenant):
            suggestions_cache_invalidate()


@pytest.fixture
def team(alpha: TenantHandle) -> Team:
    return Team(alpha)


def _names(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row.get("employee_name") or row.get("name") for row in response.json()["results"]}


def test_a_manager_sees_the_pending_suggestions_of_their_team_and_their_own_only(
    alpha: TenantHandle, team: Team
) -> None:
    project = make_project(alpha)
    for employee in (team.boss, team.member, team.outsider):
        make_suggestion(alpha, employee, project)
    assert _names(alpha.client().get(PENDING, **auth(team.token))) == {"Boss", "Member"}


def test_a_manager_decides_their_teams_suggestions_and_others_are_not_found(alpha: TenantHandle, team: Team) -> None:
    project = make_project(alpha)
    mine = make_suggestion(alpha, team.member, project)
    theirs = make_suggestion(alpha, team.outsider, project)
    response = alpha.client().post(
        ACCEPT, {"ids": [str(mine.id), str(theirs.id)]}, content_type="application/json", **auth(team.token)
    )
    assert response.status_code == 200, response.content
    outcomes = {row["id"]: row["outcome"] for row in response.json()["results"]}
    assert outcomes == {str(mine.id): "accepted", str(theirs.id): "not_found"}


def test_a_manager_lists_the_allocations_and_employees_of_their_team(alpha: TenantHandle, team: Team) -> None:
    project = make_project(alpha)
    for employee in (team.boss, team.member, team.outsider):
        make_allocation(alpha, employee, project, day=date(2026, 3, 2))
    assert _names(alpha.client().get("/api/allocations", **auth(team.token))) == {"Boss", "Member"}
    assert _names(alpha.client().get("/api/employees", **auth(team.token))) == {"Boss", "Member"}
    outsider = alpha.client().get(f"/api/employees/{team.outsider.id}", **auth(team.token))
    assert outsider.status_code == 404


def test_a_manager_never_sees_personal_data_of_their_team(alpha: TenantHandle, team: Team) -> None:
    with tenant_context(alpha.tenant):
        member = Employee.objects.get(id=team.member.id)
        member.bank_account = "DE00 1234"
        member.save(update_fields=["bank_account"])
    row = alpha.client().get(f"/api/employees/{team.member.id}", **auth(team.token)).json()
    assert row["bank_account"] is None


def test_the_selector_answers_everyone_for_hr_the_team_for_a_manager_and_oneself_otherwise(
    alpha: TenantHandle, team: Team
) -> None:
    employee_login = make_user(alpha, "member@alpha.test", "Employee")
    hr = make_user(alpha, "hr-sel@alpha.test", "HR")
    with tenant_context(alpha.tenant):
        Employee.objects.filter(id=team.member.id).update(user=employee_login)
        assert visible_employee_ids(hr) is None
        assert visible_employee_ids(team.user) == {team.boss.id, team.member.id}
        assert visible_employee_ids(employee_login) == {team.member.id}


def test_hr_sets_and_clears_the_manager_on_the_employees_api(alpha: TenantHandle, team: Team) -> None:
    token = staff_token(alpha)
    path = f"/api/employees/{team.outsider.id}"
    response = alpha.client().patch(
        path, {"manager": str(team.boss.id)}, content_type="application/json", **auth(token)
    )
    assert response.status_code == 200, response.content
    assert response.json()["manager"] == str(team.boss.id)
    assert _names(alpha.client().get(PENDING, **auth(team.token))) == set()  # the cache followed the change
    assert _names(alpha.client().get("/api/employees", **auth(team.token))) == {"Boss", "Member", "Outsider"}
    cleared = alpha.client().patch(path, {"manager": None}, content_type="application/json", **auth(token))
    assert cleared.json()["manager"] is None


def test_an_employee_cannot_manage_themselves_even_through_a_chain(alpha: TenantHandle, team: Team) -> None:
    token = staff_token(alpha)
    response = alpha.client().patch(
        f"/api/employees/{team.boss.id}",
        {"manager": str(team.member.id)},
        content_type="application/json",
        **auth(token),
    )
    assert response.status_code == 400
    assert "manager" in response.json()["error"]["fields"]


def test_another_tenants_employee_is_not_a_manager_here(alpha: TenantHandle, beta: TenantHandle, team: Team) -> None:
    foreign = make_employee(beta)
    response = alpha.client().patch(
        f"/api/employees/{team.member.id}",
        {"manager": str(foreign.id)},
        content_type="application/json",
        **auth(staff_token(alpha)),
    )
    assert response.status_code == 400
    assert "manager" in response.json()["error"]["fields"]


def test_a_manager_picks_among_their_team_on_the_week_grid(alpha: TenantHandle, team: Team) -> None:
    client = alpha.client()
    assert client.post("/login", {"username": team.user.username, "password": PASSWORD}).status_code == 302
    # The people picker offers the team (and the Manager's own record), never anyone else.
    offered = client.get("/employees/options?employee=").content.decode()
    assert "Member" in offered
    assert "Boss" in offered
    assert "Outsider" not in offered
    member = client.get(f"/timesheets?employee={team.member.id}")
    assert member.status_code == 200
    outsider = client.get(f"/timesheets?employee={team.outsider.id}").content.decode()
    assert "Outsider" not in outsider


def test_a_null_character_in_the_people_picker_is_a_form_error_not_a_server_error(
    alpha: TenantHandle, team: Team
) -> None:
    client = alpha.client()
    assert client.post("/login", {"username": team.user.username, "password": PASSWORD}).status_code == 302
    options = client.get("/employees/options", {"employee": "Mem\x00ber"})
    assert options.status_code == 200
    assert "Member" in options.content.decode()
    week = client.get("/timesheets", {"employee": "Mem\x00ber"})
    assert week.status_code == 200
    assert "Null characters are not allowed." in week.content.decode()


def test_a_null_character_in_the_employee_search_is_ignored_not_a_server_error(alpha: TenantHandle, team: Team) -> None:
    client = alpha.client()
    assert client.post("/login", {"username": team.user.username, "password": PASSWORD}).status_code == 302
    found = client.get("/employees", {"q": "Mem\x00ber"})
    assert found.status_code == 200
    assert "Member" in found.content.decode()
    assert client.get("/employees", {"q": "\x00"}).status_code == 200
