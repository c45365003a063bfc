"""Generation for an old period stays reviewable; holidays and leave get no suggestions and attendance on them
is flagged for HR."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from intelligence.generation import JOB_TYPE, SUGGESTION_TTL_DAYS, timesheets_generate
from jobs.models import BackgroundJob, JobStatus
from jobs.services import job_create
from tests.conftest import TenantHandle, make_user, token_for
from tests.intelligence.builders import World, build_world
from timesheets.models import AttendanceRecord, ProjectAllocationSuggestion, SuggestionStatus, UnallocatedDay
from timesheets.selectors import tenant_today


def _staff(handle: TenantHandle) -> tuple[User, dict[str, Any]]:
    user = make_user(handle, f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", "HR")
    return user, {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}


def _generate(world: World) -> BackgroundJob:
    job = job_create(
        job_type=JOB_TYPE,
        parameters={"start_date": world.start.isoformat(), "end_date": world.end.isoformat()},
    )
    finished = timesheets_generate(job_id=job.id)
    assert finished is not None
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    return finished


def _monday_days_ago(days: int) -> date:
    day = date.today() - timedelta(days=days)
    return day - timedelta(days=day.weekday())


def test_a_period_60_days_back_is_generated_into_suggestions_open_for_review(alpha: TenantHandle) -> None:
    start = _monday_days_ago(60)
    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=5, start=start)
        job = _generate(world)
        created = ProjectAllocationSuggestion.objects.filter(date__range=(world.start, world.end))
        assert job.result["suggestions_created"] == created.count() == 30
        assert job.result["suggestions_reviewable"] == 30
        # The lifetime counts from the day the suggestion was made, not from the (long past) day it is about.
        assert {s.expiry_date for s in created} == {tenant_today() + timedelta(days=SUGGESTION_TTL_DAYS)}
    user, auth = _staff(alpha)
    client = alpha.client()
    listed = client.get(
        "/api/timesheet-intelligence/suggestions/pending",
        {"date_from": world.start.isoformat(), "date_to": world.end.isoformat(), "page_size": "100"},
        **auth,
    )
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 30
    assert {row["date"] for row in body["results"]} == {(start + timedelta(days=i)).isoformat() for i in range(5)}
    client.force_login(user)
    page = client.get("/suggestions", {"date_from": world.start.isoformat(), "date_to": world.end.isoformat()})
    assert page.status_code == 200
    assert world.employees[0].name in page.content.decode()


def test_holidays_and_leave_get_no_suggestions_and_attendance_on_them_is_flagged(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=3, days=5)
    _, auth = _staff(alpha)
    client = alpha.client()
    holiday = world.start + timedelta(days=1)
    answer = client.post(
        "/api/worktime/days-off",
        {"date": holiday.isoformat(), "name": "Founders' Day"},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 201, answer.content
    on_leave = world.employees[1]
    answer = client.post(
        "/api/leave",
        {
            "employee": str(on_leave.id),
            "leave_type": "vacation",
            "start_date": (world.start + timedelta(days=3)).isoformat(),
            "end_date": (world.start + timedelta(days=4)).isoformat(),
        },
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 201, answer.content
    with tenant_context(alpha.tenant):
        job = _generate(world)
        suggested_days = set(
            ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING).values_list(
                "employee_id", "date"
            )
        )
        # Everybody attended the holiday in the built world, and the employee on leave attended their leave too.
        off = {(e.id, holiday) for e in world.employees} | {
            (on_leave.id, world.start + timedelta(days=offset)) for offset in (3, 4)
        }
        assert not suggested_days & off
        assert len(suggested_days) == 3 * 5 - len(off)
        flagged = {(row.employee_id, row.date): row for row in UnallocatedDay.objects.all()}
        assert set(flagged) == off
        assert flagged[(world.employees[0].id, holiday)].reason.startswith("holiday (Founders' Day)")
        assert flagged[(on_leave.id, world.start + timedelta(days=3))].reason.startswith("leave (")
        assert (
            flagged[(on_leave.id, world.start + timedelta(days=3))].attended_hours
            == AttendanceRecord.objects.get(employee=on_leave, date=world.start + timedelta(days=3)).worked_hours
        )
        assert job.result["days_off_attended"] == len(off)
