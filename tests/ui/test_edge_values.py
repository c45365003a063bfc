"""Dates at the ends of the calendar and non-finite numbers are bad input in the UI and the API, never a 500."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from django.test import Client

from core.fields import DATE_MAX, DATE_MIN
from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import auth, make_employee, make_project, make_suggestion, staff_token

_RANGE_MESSAGE = f"from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}"


def _logged_in(handle: TenantHandle, role: str, *, with_employee: bool = False) -> Client:
    username = f"{role.lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    user = make_user(handle, username, role)
    if with_employee:
        make_employee(handle, user=user)
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/timesheets?week=9999-W52",
        "/timesheets?week=0001-W01",
        "/timesheets?week=9999-12-31",
        "/my-week?week=9999-W52",
        "/my-week?week=0001-W01",
        "/audit?date_to=9999-12-31",
        "/audit?date_from=0001-01-01",
        "/suggestions?date_to=9999-12-31",
    ],
)
def test_a_date_outside_the_supported_range_is_a_form_error_not_a_server_error(alpha: TenantHandle, path: str) -> None:
    make_employee(alpha)  # the grid shows HR the first active employee
    response = _logged_in(alpha, "HR", with_employee=True).get(path)
    assert response.status_code == 200
    assert _RANGE_MESSAGE in response.content.decode()


def test_non_finite_corrected_hours_are_refused_with_the_forms_message(alpha: TenantHandle) -> None:
    client = _logged_in(alpha, "HR")
    suggestion = make_suggestion(alpha, make_employee(alpha), make_project(alpha))
    for value in ("NaN", "sNaN", "Infinity", "-Infinity", "1e999999"):
        response = client.post(
            "/suggestions/decide",
            {"action": "accept", "ids": [str(suggestion.id)], f"hours-{suggestion.id}": value},
            follow=True,
        )
        assert response.status_code == 200, value
        assert "Hours must be" in response.content.decode(), value


def test_a_generation_outside_the_supported_range_is_refused_before_a_job_exists(alpha: TenantHandle) -> None:
    token = staff_token(alpha, "Admin")
    response = alpha.client().post(
        "/api/timesheet-intelligence/generate",
        {"start_date": "0001-01-01", "end_date": "0001-01-05"},
        content_type="application/json",
        **auth(token),
    )
    assert response.status_code == 400
    assert "start_date" in response.json()["error"]["fields"]
    page = _logged_in(alpha, "HR").post("/generate", {"start_date": "0001-01-01", "end_date": "0001-01-05"})
    assert page.status_code == 200
    assert _RANGE_MESSAGE in page.content.decode()


@pytest.mark.parametrize("query", ["date_from=1999-12-31", "date_to=2100-01-01", "date_from=9999-12-31"])
def test_api_date_filters_outside_the_range_are_a_400_naming_the_parameter(alpha: TenantHandle, query: str) -> None:
    response: Any = alpha.client().get(f"/api/allocations?{query}", **auth(staff_token(alpha)))
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]["fields"]


def test_the_range_ends_are_accepted(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    query = f"date_from={DATE_MIN.isoformat()}&date_to={DATE_MAX.isoformat()}"
    assert alpha.client().get(f"/api/allocations?{query}", **auth(token)).status_code == 200
    assert date(2000, 1, 1) == DATE_MIN
    assert date(2099, 12, 31) == DATE_MAX


def test_a_next_that_is_not_a_path_of_the_site_falls_back_instead_of_failing(alpha: TenantHandle) -> None:
    client = _logged_in(alpha, "HR")
    for target in ("9999-12-31", "suggestions", "//elsewhere.test/x", "https://elsewhere.test/"):
        # Nothing ticked: the review is shown again with the message, and nothing links to the bad target.
        response = client.post("/suggestions/decide", {"action": "accept", "next": target})
        assert response.status_code == 200, target
        assert "Select at least one suggestion first." in response.content.decode(), target
        assert f'value="{target}"' not in response.content.decode(), target
