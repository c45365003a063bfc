"""Generation for an old period stays reviewable; holidays and leave get no suggestions and attendance on them
is flagged for HR."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
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


def test_a_half_day_of_leave_splits_attendance_that_fits_the_working_half_and_flags_attendance_beyond_it(
    alpha: TenantHandle,
) -> None:
    """8 h a day are scheduled (40 h Monday to Friday): a half day of leave leaves 4 h of working time. The built
    world attends 8 h every day; one employee's half-day attendance is cut to 4 h, the other's stays 8 h."""
    with tenant_context(alpha.tenant):
        world = build_world(employees=3, days=5)
    _, auth = _staff(alpha)
    client = alpha.client()
    half_day = world.start + timedelta(days=2)
    fits, beyond, _ = world.employees
    for person in (fits, beyond):
        answer = client.post(
            "/api/leave",
            {
                "employee": str(person.id),
                "leave_type": "vacation",
                "start_date": half_day.isoformat(),
                "end_date": half_day.isoformat(),
                "portion": "half_day",
            },
            content_type="application/json",
            **auth,
        )
        assert answer.status_code == 201, answer.content
    with tenant_context(alpha.tenant):
        record = AttendanceRecord.objects.get(employee=fits, date=half_day)
        record.check_out = record.check_in + timedelta(hours=4, minutes=30)
        record.worked_hours = Decimal("4.00")
        record.save()

        job = _generate(world)

        fitted = ProjectAllocationSuggestion.objects.filter(employee=fits, date=half_day)
        # Only the attended half is split into projects; the leave half is not suggested anywhere.
        assert fitted.exists()
        assert sum(s.hours or Decimal(0) for s in fitted) == Decimal("4.00")
        assert not ProjectAllocationSuggestion.objects.filter(employee=beyond, date=half_day).exists()
        flagged = {(row.employee_id, row.date): row for row in UnallocatedDay.objects.all()}
        assert set(flagged) == {(beyond.id, half_day)}
        assert flagged[(beyond.id, half_day)].reason.startswith(
            "part-day leave (Vacation), 8.00 h attended against 4.00 h of working time"
        )
        assert flagged[(beyond.id, half_day)].attended_hours == Decimal("8.00")
        assert job.result["days_off_attended"] == 1
    # Expected hours count the half day: 4 h on it, and the 4 h above it are overtime in the week's account.
    week = client.get(
        "/api/worktime/expected-hours",
        {"employee": str(beyond.id), "date_from": world.start.isoformat(), "date_to": world.end.isoformat()},
        **auth,
    ).json()
    day = next(row for row in week["days"] if row["date"] == half_day.isoformat())
    assert (day["expected"], day["leave"], day["worked"], day["overtime"]) == ("4.00", "4.00", "8.00", "4.00")
    assert week["overtime"] == "4.00"


def test_a_company_half_day_off_flags_attendance_beyond_the_working_half(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=5)
    _, auth = _staff(alpha)
    half_day = world.start + timedelta(days=4)
    answer = alpha.client().post(
        "/api/worktime/days-off",
        {"date": half_day.isoformat(), "name": "Summer party", "half_day": True},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 201, answer.content
    with tenant_context(alpha.tenant):
        short = world.employees[0]
        AttendanceRecord.objects.filter(employee=short, date=half_day).update(worked_hours=Decimal("4.00"))

        _generate(world)

        assert ProjectAllocationSuggestion.objects.filter(employee=short, date=half_day).exists()
        flagged = list(UnallocatedDay.objects.values_list("employee_id", "date", "reason"))
        assert [(employee_id, day) for employee_id, day, _ in flagged] == [(world.employees[1].id, half_day)]
        assert flagged[0][2].startswith("half day off (Summer party)")
