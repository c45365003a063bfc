"""Working time on the timesheet pages (panels): violations with their acknowledgement, hours and flexitime."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.test import Client, RequestFactory
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from core.panels import panel_register, panels_for, panels_render
from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import auth, employee_user, make_attendance, make_employee, staff_token
from timesheets.models import Employee
from timesheets.selectors import tenant_today
from worktime.models import ComplianceRuleSet, ComplianceViolation
from worktime.services import compliance_check

MONDAY = date(2026, 3, 2)
WEEK = "2026-W10"


def _client(handle: TenantHandle, *roles: str) -> tuple[Client, Any]:
    username = f"{'-'.join(roles).lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    user = make_user(handle, username, *roles)
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client, user


def _linked(handle: TenantHandle, user: Any, name: str) -> Employee:
    person = make_employee(handle, name=name)
    with tenant_context(handle.tenant):
        Employee.objects.filter(pk=person.pk).update(user=user)
    return person


def _eleven_hours_on_monday(handle: TenantHandle, *people: Employee) -> None:
    """An 11 h day without a break: over the German daily maximum and short of its break."""
    with tenant_context(handle.tenant):
        ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "de_arbzg", "thresholds": {}})
    for person in people:
        make_attendance(handle, person, day=MONDAY, hours=11)
    with tenant_context(handle.tenant):
        compliance_check(actor=None, date_from=MONDAY, date_to=MONDAY)


def _section(page: str, element_id: str) -> str:
    assert f'id="{element_id}"' in page, f"no #{element_id} on the page"
    return page.split(f'id="{element_id}"')[1].split("</section>")[0]


def test_an_employee_sees_their_violations_in_my_week_without_an_acknowledge_form(alpha: TenantHandle) -> None:
    client, user = _client(alpha, "Employee")
    own = _linked(alpha, user, "Week Owner")
    other = make_employee(alpha, name="Someone Else")
    _eleven_hours_on_monday(alpha, own, other)

    page = client.get("/my-week", {"week": WEEK}).content.decode()

    panel = _section(page, "worktime-violations")
    assert panel.count('class="violation"') == 2
    assert 'data-rule="daily_max"' in panel
    assert 'data-rule="break"' in panel
    assert "Someone Else" not in page
    assert "<form" not in panel
    # The review page shows the same, and only theirs.
    review = _section(client.get("/suggestions").content.decode(), "worktime-violations")
    assert "Someone Else" not in review


def test_hr_acknowledges_a_violation_from_the_timesheet_grid_with_a_comment(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha, name="Grid Person")
    _eleven_hours_on_monday(alpha, person)
    grid_url = f"/timesheets?employee={person.id}&week={WEEK}"
    with tenant_context(alpha.tenant):
        violation = ComplianceViolation.objects.get(employee=person, rule="daily_max")

    panel = _section(client.get(grid_url).content.decode(), "worktime-violations")
    assert f'action="/compliance/{violation.id}/acknowledge"' in panel

    response = client.post(
        f"/compliance/{violation.id}/acknowledge",
        {"comment": "Go-live weekend, agreed in advance.", "next": grid_url},
    )

    assert response.status_code == 302
    assert response["Location"] == grid_url
    panel = _section(client.get(grid_url).content.decode(), "worktime-violations")
    assert "Go-live weekend, agreed in advance." in panel
    with tenant_context(alpha.tenant):
        assert AuditEvent.objects.filter(action="violation.acknowledge", object_id=str(violation.id)).count() == 1


def test_an_acknowledgement_without_a_comment_is_refused_and_nothing_changes(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    person = make_employee(alpha)
    _eleven_hours_on_monday(alpha, person)
    with tenant_context(alpha.tenant):
        violation = ComplianceViolation.objects.get(employee=person, rule="daily_max")

    response = client.post(f"/compliance/{violation.id}/acknowledge", {"comment": "  "}, follow=True)

    assert "Say why it is acknowledged." in response.content.decode()
    with tenant_context(alpha.tenant):
        assert ComplianceViolation.objects.get(pk=violation.pk).acknowledged_at is None


def test_the_review_page_shows_hr_everyones_recent_violations(alpha: TenantHandle) -> None:
    client, _ = _client(alpha, "HR")
    first, second = make_employee(alpha, name="First Reviewed"), make_employee(alpha, name="Second Reviewed")
    with tenant_context(alpha.tenant):
        today = tenant_today()
        ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "de_arbzg", "thresholds": {}})
    for person in (first, second):
        make_attendance(alpha, person, day=today - timedelta(days=1), hours=11)
    with tenant_context(alpha.tenant):
        compliance_check(actor=None, date_from=today - timedelta(days=1), date_to=today)

    panel = _section(client.get("/suggestions").content.decode(), "worktime-violations")

    assert "First Reviewed" in panel
    assert "Second Reviewed" in panel


def test_overtime_is_carried_forward_into_the_next_week(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha, name="Flexible Person")
    contract = {"employee": str(person.id), "starts_on": MONDAY.isoformat(), "weekly_hours": "40.0"}
    assert (
        alpha.client().post("/api/contracts", contract, content_type="application/json", **auth(token)).status_code
        == 201
    )
    for offset in range(5):  # 9 h a day against 8 expected: 5 h of overtime in the first week
        make_attendance(alpha, person, day=MONDAY + timedelta(days=offset), hours=9)
    for offset in range(7, 11):  # 7 h Monday to Thursday, nothing on Friday: 28 h against 40 expected
        make_attendance(alpha, person, day=MONDAY + timedelta(days=offset), hours=7)
    second = MONDAY + timedelta(days=7)

    body = (
        alpha.client()
        .get(
            "/api/worktime/expected-hours",
            {
                "employee": str(person.id),
                "date_from": second.isoformat(),
                "date_to": (second + timedelta(6)).isoformat(),
            },
            **auth(token),
        )
        .json()
    )

    assert body["flexitime_opens"] == MONDAY.isoformat()
    assert body["flexitime_carried_in"] == "5.00"
    assert body["overtime"] == "-12.00"  # 28 worked, 40 expected
    assert body["flexitime_carried_out"] == "-7.00"
    client, _ = _client(alpha, "HR")
    panel = _section(client.get(f"/timesheets?employee={person.id}&week=2026-W11").content.decode(), "flexitime")
    assert 'id="flex-carried-in">5.00 h' in panel
    assert 'id="flex-carried-out">-7.00 h' in panel


def test_the_flexitime_balance_equals_the_sum_of_daily_overtime_since_the_account_opened(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    person = make_employee(alpha)
    hours = [8, 10, 6, 9, 8, 0, 0, 8, 7, 11]
    for offset, worked in enumerate(hours):
        if worked:
            make_attendance(alpha, person, day=MONDAY + timedelta(days=offset), hours=worked)
    last = MONDAY + timedelta(days=len(hours) - 1)

    def _balance(start: date, end: date) -> Any:
        return (
            alpha.client()
            .get(
                "/api/worktime/expected-hours",
                {"employee": str(person.id), "date_from": start.isoformat(), "date_to": end.isoformat()},
                **auth(token),
            )
            .json()
        )

    whole = _balance(MONDAY, last)
    split = _balance(MONDAY + timedelta(days=4), last)

    # Without a contract: 40 h a week Monday to Friday, the account opening on the first attendance.
    expected = 8 * 8  # eight working days in the range
    assert whole["flexitime_carried_out"] == f"{sum(hours) - expected:.2f}"
    assert split["flexitime_carried_out"] == whole["flexitime_carried_out"]
    assert split["flexitime_carried_in"] == f"{(8 + 10 + 6 + 9) - 32:.2f}"


def test_a_page_renders_the_panels_registered_for_it_in_order_and_escapes_nothing_twice() -> None:
    calls: list[str] = []

    def first(request: Any, **arguments: Any) -> str:
        calls.append(f"first {arguments['who']}")
        return "<p>first</p>"

    def empty(request: Any, **arguments: Any) -> str:
        calls.append("empty")
        return ""

    panel_register("test-page", name="b", render=first, order=1)
    panel_register("test-page", name="a", render=empty, order=2)
    request = RequestFactory().get("/")

    html = panels_render(request, "test-page", who="me")

    assert html == '<div class="page-panel" data-panel="b"><p>first</p></div>'
    assert calls == ["first me", "empty"]
    assert [panel.name for panel in panels_for("test-page")] == ["b", "a"]
    assert panels_render(request, "no-such-page") == ""


def test_an_employee_cannot_acknowledge_their_own_violation_and_another_ones_is_not_found(
    alpha: TenantHandle,
) -> None:
    _, own, own_token = employee_user(alpha)
    other = make_employee(alpha)
    _eleven_hours_on_monday(alpha, own, other)
    with tenant_context(alpha.tenant):
        mine = ComplianceViolation.objects.get(employee=own, rule="daily_max")
        theirs = ComplianceViolation.objects.get(employee=other, rule="daily_max")

    def acknowledge(violation: ComplianceViolation) -> Any:
        return alpha.client().post(
            f"/api/compliance/violations/{violation.id}/acknowledge",
            {"comment": "Fine by me"},
            content_type="application/json",
            **auth(own_token),
        )

    assert acknowledge(mine).status_code == 403
    assert acknowledge(theirs).status_code == 404
    with tenant_context(alpha.tenant):
        assert not ComplianceViolation.objects.filter(acknowledged_at__isnull=False).exists()
