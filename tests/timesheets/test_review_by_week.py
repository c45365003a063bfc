"""The review grouped by employee and week: each day's whole split, and one action to accept a whole week."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import make_allocation, make_attendance, make_employee, make_project, make_suggestion
from timesheets.models import ProjectAllocationSuggestion, TimesheetProjectAllocation
from timesheets.services import suggestions_cache_invalidate

MONDAY = date(2026, 3, 2)


def _client(handle: TenantHandle) -> Client:
    username = f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    make_user(handle, username, "HR")
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def _text(response: Any) -> str:
    return str(response.content.decode())


def test_a_week_shows_each_days_whole_split_and_is_accepted_in_one_action(alpha: TenantHandle) -> None:
    ann, bob = make_employee(alpha, name="Ann Weekly"), make_employee(alpha, name="Bob Weekly")
    apollo, hermes = make_project(alpha, code="APOLLO"), make_project(alpha, code="HERMES")
    for person in (ann, bob):
        make_attendance(alpha, person, day=MONDAY, hours=8)
        make_suggestion(
            alpha, person, apollo, day=MONDAY, hours="5.00", confidence="0.300", expiry_date=date(2099, 1, 1)
        )
    make_allocation(alpha, ann, hermes, day=MONDAY, hours="3.00")
    make_suggestion(
        alpha, ann, apollo, day=date(2026, 3, 3), hours="8.00", confidence="0.950", expiry_date=date(2099, 1, 1)
    )
    with tenant_context(alpha.tenant):
        suggestions_cache_invalidate()
    client = _client(alpha)

    page = _text(client.get("/suggestions?view=weeks"))
    assert "2 employee-weeks with pending suggestions" in page
    ann_week = page.split("Ann Weekly · week of Mon 2 Mar 2026")[1].split("</section>")[0]
    # Monday's whole split: the allocation already there and the doubtful suggestion, adding up to attendance.
    assert "HERMES 3.00 h" in ann_week
    assert "(allocated)" in ann_week
    assert 'class="share-doubtful">APOLLO 5.00 h · 30 %' in ann_week
    assert '<td class="num" data-label="Total">8.00</td>' in ann_week
    assert "Accept this week (2)" in ann_week

    response = client.post(
        "/suggestions/accept-week",
        {"employee": str(ann.id), "monday": "2026-03-02", "next": "/suggestions?view=weeks"},
        follow=True,
    )
    assert "Accepted the week: 2 suggestions (13.00 h)." in _text(response)
    with tenant_context(alpha.tenant):
        assert set(
            ProjectAllocationSuggestion.objects.filter(status="accepted").values_list("employee_id", flat=True)
        ) == {ann.id}
        assert TimesheetProjectAllocation.objects.filter(employee=ann).count() == 3
        assert ProjectAllocationSuggestion.objects.filter(employee=bob, status="pending").count() == 1
    assert "1 employee-week with pending suggestions" in _text(client.get("/suggestions?view=weeks"))


def test_a_week_that_does_not_start_on_monday_is_refused(alpha: TenantHandle) -> None:
    ann = make_employee(alpha)
    response = _client(alpha).post(
        "/suggestions/accept-week", {"employee": str(ann.id), "monday": "2026-03-03"}, follow=True
    )
    assert "nothing was changed" in _text(response)
