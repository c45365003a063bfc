"""The week: correcting a day's split, submission, rejection with a comment, approval, freezing, bulk approval,
reopening and the unallocated-day worklist."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    auth,
    employee_user,
    make_allocation,
    make_attendance,
    make_employee,
    make_project,
    staff_token,
)
from timesheets.models import DayNote, TimesheetProjectAllocation, TimesheetWeek, UnallocatedDay, WeekStatus

MONDAY = date(2026, 3, 2)
TUESDAY = MONDAY + timedelta(days=1)


def _day(handle: TenantHandle, token: str, employee: Any, body: dict[str, Any]) -> Any:
    return handle.client().put(
        f"/api/timesheets/{employee.id}/day", body, content_type="application/json", **auth(token)
    )


def _submit(handle: TenantHandle, token: str, employee: Any, week_start: date = MONDAY) -> Any:
    return handle.client().post(
        f"/api/timesheets/{employee.id}/submit",
        {"week_start": week_start.isoformat()},
        content_type="application/json",
        **auth(token),
    )


def _week(handle: TenantHandle, token: str, employee: Any, week_start: date = MONDAY) -> Any:
    return handle.client().get(
        f"/api/timesheets/{employee.id}/week", {"week_start": week_start.isoformat()}, **auth(token)
    )


def _post(handle: TenantHandle, token: str, path: str, body: dict[str, Any]) -> Any:
    return handle.client().post(path, body, content_type="application/json", **auth(token))


def _actions(handle: TenantHandle) -> list[str]:
    with tenant_context(handle.tenant):
        return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


def test_the_week_shows_attended_and_allocated_hours_per_day_with_the_difference(alpha: TenantHandle) -> None:
    _, ann, token = employee_user(alpha, name="Ann")
    apollo = make_project(alpha, code="APOLLO")
    make_attendance(alpha, ann, day=MONDAY, hours=8)
    make_allocation(alpha, ann, apollo, day=MONDAY, hours="6.50")
    body = _week(alpha, token, ann).json()
    monday = body["days"][0]
    assert (monday["date"], monday["attended"], monday["allocated"], monday["difference"]) == (
        "2026-03-02", "8.00", "6.50", "-1.50",
    )  # fmt: skip
    assert monday["complete"] is False
    assert body["status"] == "draft"
    assert body["missing"] == [{"date": "2026-03-02", "attended": "8.00", "allocated": "6.50"}]
    assert body["projects"] == [{"project": str(apollo.id), "project_code": "APOLLO", "hours": {"2026-03-02": "6.50"}}]
    assert len(body["days"]) == 7
    other = make_employee(alpha)
    assert _week(alpha, token, other).status_code == 404
    assert _week(alpha, token, ann, MONDAY + timedelta(days=2)).status_code == 400


def test_saving_a_day_corrects_adds_and_removes_rows_sets_the_note_and_is_audited_once(alpha: TenantHandle) -> None:
    _, ann, token = employee_user(alpha)
    apollo, gemini, mercury = make_project(alpha), make_project(alpha), make_project(alpha)
    make_allocation(alpha, ann, apollo, day=MONDAY, hours="4.00")
    make_allocation(alpha, ann, gemini, day=MONDAY, hours="4.00")
    before = len(_actions(alpha))
    response = _day(
        alpha,
        token,
        ann,
        {
            "date": "2026-03-02",
            "allocations": [{"project": str(apollo.id), "hours": "5"}, {"project": str(mercury.id), "hours": "3"}],
            "note": "Client workshop",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 1, "deleted": 1, "allocated": "8.00"}
    with tenant_context(alpha.tenant):
        stored = dict(TimesheetProjectAllocation.objects.filter(employee=ann).values_list("project_id", "hours"))
        assert stored == {apollo.id: Decimal("5.00"), mercury.id: Decimal("3.00")}
        assert DayNote.objects.get(employee=ann).note == "Client workshop"
    assert _actions(alpha)[before:] == ["timesheet.day_save"]
    inactive = make_project(alpha, active=False)
    refused = _day(
        alpha, token, ann, {"date": "2026-03-03", "allocations": [{"project": str(inactive.id), "hours": "2"}]}
    )
    assert refused.status_code == 400
    assert "allocations" in refused.json()["error"]["fields"]
    twice = [{"project": str(apollo.id), "hours": "2"}, {"project": str(apollo.id), "hours": "2"}]
    assert _day(alpha, token, ann, {"date": "2026-03-03", "allocations": twice}).status_code == 400
    too_much = [{"project": str(apollo.id), "hours": "20"}, {"project": str(gemini.id), "hours": "5"}]
    assert _day(alpha, token, ann, {"date": "2026-03-03", "allocations": too_much}).status_code == 400


def test_submission_lists_what_is_missing_then_a_rejection_returns_the_week_with_the_comment(
    alpha: TenantHandle,
) -> None:
    _, ann, token = employee_user(alpha)
    hr = staff_token(alpha)
    apollo = make_project(alpha)
    make_attendance(alpha, ann, day=MONDAY, hours=8)
    make_attendance(alpha, ann, day=TUESDAY, hours=8)
    make_allocation(alpha, ann, apollo, day=MONDAY, hours="8.00")

    incomplete = _submit(alpha, token, ann)
    assert incomplete.status_code == 400
    error = incomplete.json()["error"]
    assert error["code"] == "week_incomplete"
    assert error["missing"] == [{"date": "2026-03-03", "attended": "8.00", "allocated": "0.00"}]

    # A note explains a day that is not fully allocated.
    assert _day(alpha, token, ann, {"date": "2026-03-03", "allocations": [], "note": "Training"}).status_code == 200
    submitted = _submit(alpha, token, ann)
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"
    assert _submit(alpha, token, ann).status_code == 409
    week_id = submitted.json()["id"]

    # The employee cannot decide their own week; HR can.
    assert _post(alpha, token, f"/api/weeks/{week_id}/approve", {}).status_code == 403
    assert _post(alpha, hr, f"/api/weeks/{week_id}/reject", {"comment": ""}).status_code == 400
    rejected = _post(alpha, hr, f"/api/weeks/{week_id}/reject", {"comment": "Tuesday was project work"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    seen = _week(alpha, token, ann).json()
    assert (seen["status"], seen["comment"]) == ("rejected", "Tuesday was project work")

    split = [{"project": str(apollo.id), "hours": "8"}]
    assert _day(alpha, token, ann, {"date": "2026-03-03", "allocations": split, "note": ""}).status_code == 200
    assert _submit(alpha, token, ann).json()["status"] == "submitted"
    approved = _post(alpha, hr, f"/api/weeks/{week_id}/approve", {"comment": "Thanks"})
    assert approved.json()["status"] == "approved"
    assert _actions(alpha)[-5:] == ["week.submit", "week.reject", "timesheet.day_save", "week.submit", "week.approve"]


def test_an_approved_week_is_frozen_until_reopened(alpha: TenantHandle) -> None:
    _, ann, token = employee_user(alpha)
    hr, admin = staff_token(alpha), staff_token(alpha, "Admin")
    apollo = make_project(alpha)
    with tenant_context(alpha.tenant):
        week = TimesheetWeek.objects.create(employee=ann, week_start=MONDAY, status=WeekStatus.APPROVED)
    split = {"date": "2026-03-03", "allocations": [{"project": str(apollo.id), "hours": "3"}]}
    frozen = _day(alpha, token, ann, split)
    assert frozen.status_code == 409
    assert frozen.json()["error"]["code"] == "period_locked"
    row = {"employee": str(ann.id), "project": str(apollo.id), "date": "2026-03-04", "hours": "2"}
    assert _post_list(alpha, hr, [row]).status_code == 409
    assert _post(alpha, hr, f"/api/weeks/{week.id}/reopen", {"reason": ""}).status_code == 400
    reopened = _post(alpha, admin, f"/api/weeks/{week.id}/reopen", {"reason": "Hours were wrong"})
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "draft"
    assert _day(alpha, token, ann, split).status_code == 200


def _post_list(handle: TenantHandle, token: str, rows: list[dict[str, Any]]) -> Any:
    return handle.client().post("/api/allocations", rows, content_type="application/json", **auth(token))


def test_bulk_approval_reports_an_outcome_per_week_and_writes_one_audit_event(alpha: TenantHandle) -> None:
    hr = staff_token(alpha)
    weeks = []
    with tenant_context(alpha.tenant):
        for status in ("submitted", "submitted", "approved", "draft"):
            weeks.append(TimesheetWeek.objects.create(employee=make_employee(alpha), week_start=MONDAY, status=status))
    stranger = str(uuid.uuid4())
    before = len(_actions(alpha))
    response = _post(alpha, hr, "/api/weeks/approve", {"ids": [str(w.id) for w in weeks] + [stranger, "nope"]})
    assert response.status_code == 200
    outcomes = [row["outcome"] for row in response.json()["results"]]
    assert outcomes == ["approved", "approved", "already_approved", "not_submitted", "not_found", "not_found"]
    assert response.json()["counts"]["approved"] == 2
    assert _actions(alpha)[before:] == ["weeks.approve"]
    listed = alpha.client().get("/api/weeks?status=approved", **auth(hr)).json()
    assert listed["count"] == 3


def test_an_employee_approving_in_bulk_gets_forbidden_and_sees_only_their_weeks(alpha: TenantHandle) -> None:
    _, ann, token = employee_user(alpha)
    with tenant_context(alpha.tenant):
        own = TimesheetWeek.objects.create(employee=ann, week_start=MONDAY, status="submitted")
        TimesheetWeek.objects.create(employee=make_employee(alpha), week_start=MONDAY, status="submitted")
    response = _post(alpha, token, "/api/weeks/approve", {"ids": [str(own.id)]})
    assert [row["outcome"] for row in response.json()["results"]] == ["forbidden"]
    assert [row["id"] for row in alpha.client().get("/api/weeks", **auth(token)).json()["results"]] == [str(own.id)]


def test_the_unallocated_worklist_is_resolved_by_a_manual_split(alpha: TenantHandle) -> None:
    _, ann, token = employee_user(alpha)
    hr = staff_token(alpha)
    apollo = make_project(alpha)
    other = make_employee(alpha)
    with tenant_context(alpha.tenant):
        UnallocatedDay.objects.create(employee=ann, date=MONDAY, attended_hours=Decimal(8), reason="No signal")
        UnallocatedDay.objects.create(employee=other, date=MONDAY, attended_hours=Decimal(7), reason="No signal")
    assert alpha.client().get("/api/unallocated-days", **auth(hr)).json()["count"] == 2
    mine = alpha.client().get("/api/unallocated-days", **auth(token)).json()
    assert [(row["employee"], row["reason"]) for row in mine["results"]] == [(str(ann.id), "No signal")]
    split = [{"project": str(apollo.id), "hours": "8"}]
    assert _day(alpha, hr, ann, {"date": "2026-03-02", "allocations": split}).status_code == 200
    assert alpha.client().get("/api/unallocated-days", **auth(token)).json()["count"] == 0


def test_an_employee_changing_a_submitted_week_takes_it_back_to_draft_but_hr_corrections_do_not(
    alpha: TenantHandle,
) -> None:
    _, ann, token = employee_user(alpha)
    hr = staff_token(alpha)
    apollo = make_project(alpha)
    assert _submit(alpha, token, ann).json()["status"] == "submitted"
    split = {"date": "2026-03-03", "allocations": [{"project": str(apollo.id), "hours": "3"}]}
    assert _day(alpha, hr, ann, split).status_code == 200
    assert _week(alpha, token, ann).json()["status"] == "submitted"
    assert _day(alpha, token, ann, split | {"note": "Changed my mind"}).status_code == 200
    assert _week(alpha, token, ann).json()["status"] == "draft"


def test_generation_leaves_an_approved_week_frozen_and_its_confident_suggestions_pending(alpha: TenantHandle) -> None:
    from intelligence.generation import JOB_TYPE, timesheets_generate
    from jobs.services import job_create
    from tests.intelligence.builders import build_world
    from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus

    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=5)
        frozen, open_ = world.employees
        TimesheetWeek.objects.create(employee=frozen, week_start=world.start, status=WeekStatus.APPROVED)
        job = job_create(
            job_type=JOB_TYPE,
            parameters={
                "start_date": str(world.start),
                "end_date": str(world.end),
                "auto_accept_high_confidence": True,
            },
        )
        finished = timesheets_generate(job_id=job.id)
        assert finished is not None
        assert finished.status == "succeeded", finished.error
        in_week = {"date__range": (world.start, world.end)}
        assert TimesheetProjectAllocation.objects.filter(employee=open_, **in_week).exists()
        # build_world gives no allocations in the week itself: the frozen week must still have none.
        assert not TimesheetProjectAllocation.objects.filter(employee=frozen, **in_week).exists()
        assert not ProjectAllocationSuggestion.objects.filter(
            employee=frozen, job_id=job.id, status=SuggestionStatus.AUTO_ACCEPTED
        ).exists()
        assert ProjectAllocationSuggestion.objects.filter(
            employee=frozen, job_id=job.id, status=SuggestionStatus.PENDING
        ).exists()


def test_the_week_and_unallocated_lists_cost_the_same_queries_whatever_their_length(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    from tests.timesheets.factories import LIST_QUERY_BUDGET, warm_up

    token = staff_token(alpha)
    warm_up(alpha, token)
    counts = []
    for n in (1, 20):
        with tenant_context(alpha.tenant):
            for _ in range(n):
                employee = make_employee(alpha)
                TimesheetWeek.objects.create(employee=employee, week_start=MONDAY, status="submitted")
                UnallocatedDay.objects.create(employee=employee, date=MONDAY, attended_hours=Decimal(8), reason="x")
        for path in ("/api/weeks", "/api/unallocated-days"):
            with django_assert_max_num_queries(LIST_QUERY_BUDGET) as queries:
                assert alpha.client().get(path, **auth(token)).status_code == 200
            counts.append((path, len(queries.captured_queries)))
    assert counts[:2] == counts[2:]
