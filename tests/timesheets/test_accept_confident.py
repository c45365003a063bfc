"""Accepting every confident suggestion of a filter in one server-side action, previewing it, and undoing it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import F
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    auth,
    employee_user,
    make_allocation,
    make_employee,
    make_project,
    make_suggestion,
    staff_token,
)
from timesheets.models import (
    AcceptanceBatch,
    PayPeriod,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
    TimesheetWeek,
)
from timesheets.services import suggestions_cache_invalidate

CONFIDENT = "/api/timesheet-intelligence/suggestions/accept-confident"
MONDAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _no_cached_pages(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        suggestions_cache_invalidate()


def _post(handle: TenantHandle, path: str, token: str, body: Any = None) -> Any:
    return handle.client().post(path, body or {}, content_type="application/json", **auth(token))


def _statuses(handle: TenantHandle) -> dict[str, str]:
    with tenant_context(handle.tenant):
        return {str(row.id): row.status for row in ProjectAllocationSuggestion.objects.all()}


def _allocated(handle: TenantHandle) -> dict[tuple[str, date], Decimal | None]:
    with tenant_context(handle.tenant):
        return {(str(a.employee_id), a.date): a.hours for a in TimesheetProjectAllocation.objects.all()}


def _week(handle: TenantHandle) -> dict[str, Any]:
    """Two people, five days: a 0.95 suggestion and a 0.40 one each day; one day already filled by hand."""
    ann, bob = make_employee(handle, name="Ann"), make_employee(handle, name="Bob")
    apollo, hermes = make_project(handle, code="APOLLO"), make_project(handle, code="HERMES")
    sure, doubtful = [], []
    for person in (ann, bob):
        for offset in range(5):
            day = date.fromordinal(MONDAY.toordinal() + offset)
            sure.append(make_suggestion(handle, person, apollo, day=day, hours="6.00", confidence="0.950"))
            doubtful.append(make_suggestion(handle, person, hermes, day=day, hours="2.00", confidence="0.400"))
    # Bob's Friday on APOLLO was typed in by hand before the review: the accept must not overwrite it.
    make_allocation(handle, bob, apollo, day=date(2026, 3, 6), hours="7.50")
    return {"ann": ann, "bob": bob, "apollo": apollo, "sure": sure, "doubtful": doubtful}


def test_a_preview_counts_what_would_be_accepted_and_changes_nothing(alpha: TenantHandle) -> None:
    world = _week(alpha)
    before = _statuses(alpha)
    response = _post(alpha, CONFIDENT, staff_token(alpha), {"min_confidence": "0.9", "preview": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["preview"] is True
    assert body["batch_id"] is None
    # Ten confident suggestions, less Bob's Friday, which already has an allocation.
    assert (body["count"], Decimal(body["hours"]), body["employees"]) == (9, Decimal("54.00"), 2)
    assert _statuses(alpha) == before
    assert len(world["doubtful"]) == 10


def test_accepting_the_confident_bulk_leaves_the_doubtful_and_hand_filled_days_and_undo_puts_it_back(
    alpha: TenantHandle,
) -> None:
    world = _week(alpha)
    token = staff_token(alpha)
    by_hand = _allocated(alpha)
    response = _post(alpha, CONFIDENT, token, {"min_confidence": "0.9", "date_from": "2026-03-02"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], Decimal(body["hours"])) == (9, Decimal("54.00"))
    statuses = _statuses(alpha)
    assert {statuses[str(s.id)] for s in world["doubtful"]} == {SuggestionStatus.PENDING}
    bob_friday = next(s for s in world["sure"] if s.employee_id == world["bob"].id and s.date == date(2026, 3, 6))
    assert statuses[str(bob_friday.id)] == SuggestionStatus.PENDING
    allocated = _allocated(alpha)
    assert len(allocated) == 10
    assert allocated[(str(world["bob"].id), date(2026, 3, 6))] == Decimal("7.50")
    with tenant_context(alpha.tenant):
        assert AuditEvent.objects.filter(action="suggestions.accept_confident").count() == 1
        # The batch records who accepted; its rows carry only the batch id (and the accepted hours).
        batch = AcceptanceBatch.objects.get(id=body["batch_id"])
        assert batch.created_by is not None
        members = ProjectAllocationSuggestion.objects.filter(batch=batch)
        assert members.count() == 9
        assert not members.filter(decided_by__isnull=False).exists()
        assert not members.exclude(accepted_hours=F("hours")).exists()
        # A person corrects one accepted day afterwards: undo must keep that correction.
        corrected = TimesheetProjectAllocation.objects.get(employee=world["ann"], date=MONDAY)
        corrected.hours = Decimal("5.00")
        corrected.save()

    undo = _post(alpha, f"/api/timesheet-intelligence/suggestions/batches/{body['batch_id']}/undo", token)
    assert undo.status_code == 200, undo.content
    assert (undo.json()["reverted"], undo.json()["kept"]) == (8, 1)
    allocated = _allocated(alpha)
    assert allocated == {**by_hand, (str(world["ann"].id), MONDAY): Decimal("5.00")}
    statuses = _statuses(alpha)
    assert sum(1 for s in world["sure"] if statuses[str(s.id)] == SuggestionStatus.PENDING) == 9
    again = _post(alpha, f"/api/timesheet-intelligence/suggestions/batches/{body['batch_id']}/undo", token)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_the_threshold_defaults_to_the_tenants_auto_accept_threshold(alpha: TenantHandle) -> None:
    ann, apollo = make_employee(alpha), make_project(alpha)
    make_suggestion(alpha, ann, apollo, day=MONDAY, confidence="0.890")
    make_suggestion(alpha, ann, apollo, day=date(2026, 3, 3), confidence="0.910")
    body = _post(alpha, CONFIDENT, staff_token(alpha), {"preview": True}).json()
    assert Decimal(body["min_confidence"]) == Decimal(str(alpha.tenant.auto_accept_threshold))
    assert body["count"] == (1 if alpha.tenant.auto_accept_threshold > Decimal("0.89") else 2)


def test_bad_input_is_a_400_naming_the_field_and_employees_are_refused(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    response = _post(alpha, CONFIDENT, token, {"min_confidence": "1.5"})
    assert response.status_code == 400
    assert "min_confidence" in response.json()["error"]["fields"]
    response = _post(alpha, CONFIDENT, token, {"date_from": "2026-03-09", "date_to": "2026-03-02"})
    assert response.status_code == 400
    assert "date_to" in response.json()["error"]["fields"]
    _, _, employee_token = employee_user(alpha)
    assert _post(alpha, CONFIDENT, employee_token, {"preview": True}).status_code == 403


def test_undo_of_an_unknown_or_another_tenants_batch_is_a_404(alpha: TenantHandle, beta: TenantHandle) -> None:
    ann, apollo = make_employee(beta), make_project(beta)
    make_suggestion(beta, ann, apollo, day=MONDAY, confidence="0.990")
    with tenant_context(beta.tenant):
        suggestions_cache_invalidate()
    batch = _post(beta, CONFIDENT, staff_token(beta), {"min_confidence": "0.5"}).json()["batch_id"]
    token = staff_token(alpha)
    assert _post(alpha, f"/api/timesheet-intelligence/suggestions/batches/{batch}/undo", token).status_code == 404
    assert _post(alpha, "/api/timesheet-intelligence/suggestions/batches/nope/undo", token).status_code == 404


def test_locked_and_approved_days_are_left_out_and_undo_after_a_close_is_refused(alpha: TenantHandle) -> None:
    world = _week(alpha)
    token = staff_token(alpha)
    with tenant_context(alpha.tenant):
        # Ann's Monday is in an approved week; Tuesday 3 March is in a closed pay period.
        TimesheetWeek.objects.create(employee=world["ann"], week_start=MONDAY, status="approved")
        PayPeriod.objects.create(start_date=date(2026, 3, 3), end_date=date(2026, 3, 3), status="closed")
    body = _post(alpha, CONFIDENT, token, {"min_confidence": "0.9"}).json()
    # Ten confident: less Bob's hand-filled Friday, Ann's approved week (5 days), Bob's locked Tuesday.
    assert body["count"] == 3
    with tenant_context(alpha.tenant):
        accepted = set(ProjectAllocationSuggestion.objects.filter(status="accepted").values_list("employee_id", "date"))
    assert accepted == {(world["bob"].id, date(2026, 3, d)) for d in (2, 4, 5)}
    with tenant_context(alpha.tenant):
        PayPeriod.objects.create(start_date=date(2026, 3, 4), end_date=date(2026, 3, 31), status="closed")
    undo = _post(alpha, f"/api/timesheet-intelligence/suggestions/batches/{body['batch_id']}/undo", token)
    assert undo.status_code == 409
    assert undo.json()["error"]["code"] == "period_locked"
    with tenant_context(alpha.tenant):
        assert ProjectAllocationSuggestion.objects.filter(status="accepted").count() == 3
