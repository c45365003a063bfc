"""Generation: idempotent re-runs, exact sums, auto-accept, the lease and its fencing epoch, the API."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection, connections, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context

from hrms.celery import app
from intelligence import generation
from intelligence.generation import JOB_TYPE, LEASE_NAME, timesheets_generate
from intelligence.services import generation_request
from intelligence.signals import signals_load
from jobs.models import BackgroundJob, JobStatus
from jobs.services import JobAlreadyRunning, job_create, jobs_reap_stalled
from locks.services import LeaseLost, lease_acquire, lease_guard, lease_key, lease_release
from tests.conftest import TenantHandle, make_user, token_for
from tests.intelligence.builders import World, build_world
from timesheets.models import (
    AttendanceRecord,
    Employee,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
    UnallocatedDay,
)


def _job(world: World, **overrides: Any) -> BackgroundJob:
    parameters = {
        "start_date": world.start.isoformat(),
        "end_date": world.end.isoformat(),
        "generate_suggestions": True,
        "auto_accept_high_confidence": False,
    }
    parameters.update(overrides)
    return job_create(job_type=JOB_TYPE, parameters=parameters)


def _generate(world: World, **overrides: Any) -> BackgroundJob:
    job = timesheets_generate(job_id=_job(world, **overrides).id)
    assert job is not None
    return job


def test_it_splits_every_attended_day_exactly(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=3, days=5)
        job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.progress == 100
        per_day = ProjectAllocationSuggestion.objects.values("employee_id", "date").annotate(total=Sum("hours"))
        assert len(per_day) == 15
        assert {row["total"] for row in per_day} == {Decimal("8.00")}
        sample = ProjectAllocationSuggestion.objects.filter(project=world.projects[0]).first()
        assert sample is not None
        assert sample.explanation.startswith("3h logged on P0-")
        learned = ProjectAllocationSuggestion.objects.filter(project=world.projects[2]).first()
        assert learned is not None
        assert learned.explanation == "weekday pattern 6 wks"  # recomputed from the six weeks of history
        assert job.result["patterns_refreshed"] == 3 * 5
        assert job.result["suggestions_created"] == ProjectAllocationSuggestion.objects.count() == 45
        assert job.result["employee_days"] == 15


def test_generating_the_same_period_twice_creates_no_duplicates_and_keeps_accepted(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=3)
        _generate(world)
        first = ProjectAllocationSuggestion.objects.order_by("date", "employee_id", "project_id").first()
        assert first is not None
        ProjectAllocationSuggestion.objects.filter(id=first.id).update(status=SuggestionStatus.ACCEPTED)
        TimesheetProjectAllocation.objects.create(
            employee_id=first.employee_id,
            project_id=first.project_id,
            date=first.date,
            hours=first.hours,
            suggestion=first,
        )
        _generate(world)
        assert ProjectAllocationSuggestion.objects.filter(id=first.id, status=SuggestionStatus.ACCEPTED).exists()
        pending_keys = list(
            ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING).values_list(
                "employee_id", "project_id", "date"
            )
        )
        assert len(pending_keys) == len(set(pending_keys)) == 2 * 3 * 3 - 1
        assert (first.employee_id, first.project_id, first.date) not in pending_keys
        day_total = ProjectAllocationSuggestion.objects.filter(
            employee_id=first.employee_id, date=first.date
        ).aggregate(total=Sum("hours"))["total"]
        assert day_total == Decimal("8.00")


def test_a_rejected_project_is_not_proposed_again_in_any_chunk_and_rejections_are_read_once(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation, "CHUNK_SIZE", 1)  # three chunks, each taking its rejections from the snapshot
    with tenant_context(alpha.tenant):
        world = build_world(employees=3, days=2)
        _generate(world)
        turned_down = list(ProjectAllocationSuggestion.objects.order_by("employee_id", "date", "project_id")[::5])
        assert len({s.employee_id for s in turned_down}) == 3
        ProjectAllocationSuggestion.objects.filter(id__in=[s.id for s in turned_down]).update(
            status=SuggestionStatus.REJECTED
        )
        with CaptureQueriesContext(connection) as queries:
            job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED, job.error
        rejected_reads = [q["sql"] for q in queries.captured_queries if "'rejected'" in q["sql"]]
        assert len(rejected_reads) == 1
        pending = set(
            ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING).values_list(
                "employee_id", "project_id", "date"
            )
        )
        assert pending
        assert not pending & {(s.employee_id, s.project_id, s.date) for s in turned_down}
        # The rejected project's hours went to the others: every day still sums to what was attended.
        totals = (
            ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING)
            .values("employee_id", "date")
            .annotate(total=Sum("hours"))
        )
        assert {row["total"] for row in totals} == {Decimal("8.00")}


def test_chunks_are_computed_with_the_cyclic_collector_paused(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    collecting: list[bool] = []
    compute = generation._compute_chunk

    def recorded(**kwargs: Any) -> Any:
        collecting.append(gc.isenabled())
        return compute(**kwargs)

    monkeypatch.setattr(generation, "_compute_chunk", recorded)
    monkeypatch.setattr(generation, "CHUNK_SIZE", 1)
    with tenant_context(alpha.tenant):
        job = _generate(build_world(employees=2, days=2))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert collecting == [False, False]
    assert gc.isenabled()


def test_auto_accept_turns_high_confidence_suggestions_into_allocations(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=2)
        job = _generate(world, auto_accept_high_confidence=True)
        auto = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.AUTO_ACCEPTED)
        assert auto.exists()
        assert all(s.confidence >= alpha.tenant.auto_accept_threshold for s in auto)
        assert not ProjectAllocationSuggestion.objects.filter(
            status=SuggestionStatus.PENDING, confidence__gte=alpha.tenant.auto_accept_threshold
        ).exists()
        in_period = TimesheetProjectAllocation.objects.filter(date__gte=world.start)
        assert in_period.count() == auto.count() == job.result["auto_accepted"]
        assert set(in_period.values_list("suggestion_id", flat=True)) == set(auto.values_list("id", flat=True))


def test_days_without_evidence_are_flagged_and_employees_without_attendance_counted(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=1, days=1)
        silent = Employee.objects.create(name="Silent", email="silent@example.test", email_index="silent-index")
        absent = Employee.objects.create(name="Absent", email="absent@example.test", email_index="absent-index")
        check_in = world.employees[0].attendance.get().check_in
        AttendanceRecord.objects.create(
            employee=silent,
            date=world.start,
            check_in=check_in,
            check_out=check_in.replace(hour=16),
            worked_hours=Decimal("7.00"),
        )
        job = _generate(world)
        flag = UnallocatedDay.objects.get(employee=silent)
        assert flag.attended_hours == Decimal("7.00")
        assert not ProjectAllocationSuggestion.objects.filter(employee__in=[silent, absent]).exists()
        assert job.result["unallocated_days"] == 1
        assert job.result["employees_without_attendance"] == 1


def test_signals_for_a_chunk_cost_the_same_queries_for_3_or_30_employees(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        small, large = build_world(employees=3, days=2), build_world(employees=30, days=2)
        counts = []
        for world in (small, large):
            with CaptureQueriesContext(connection) as queries:
                loaded = signals_load(
                    employee_ids=[e.id for e in world.employees],
                    start=world.start,
                    end=world.end,
                    active_projects=frozenset(p.id for p in world.projects),
                )
            assert len(loaded.attendance) == len(world.employees) * 2
            counts.append(len(queries.captured_queries))
        # Six reads plus the search-path statement django-tenants issues for the cursor.
        assert counts[0] == counts[1] == 7


def test_a_stale_holders_write_is_rejected_by_the_fencing_epoch(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        first = lease_acquire(name="test-lease", ttl_seconds=30)
        get_redis_connection("default").delete(lease_key(schema=first.schema, name="test-lease"))  # lease expired
        second = lease_acquire(name="test-lease", ttl_seconds=30)
        try:
            assert second.epoch == first.epoch + 1
            with pytest.raises(LeaseLost, match="Stale"), transaction.atomic():
                lease_guard(first)
            with transaction.atomic():
                lease_guard(second)
        finally:
            lease_release(second)


def test_a_job_that_loses_its_lease_mid_run_writes_nothing_more_and_fails(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation, "CHUNK_SIZE", 2)
    real_write = generation._write_chunk
    calls = {"n": 0}

    def write_then_get_overtaken(**kwargs: Any) -> tuple[int, int]:
        calls["n"] += 1
        if calls["n"] == 2:
            # Another run takes over after our lease expired: it bumps the epoch.
            lease = kwargs["lease"]
            get_redis_connection("default").delete(lease_key(schema=lease.schema, name=LEASE_NAME))
            lease_release(lease_acquire(name=LEASE_NAME))
        return real_write(**kwargs)

    monkeypatch.setattr(generation, "_write_chunk", write_then_get_overtaken)
    with tenant_context(alpha.tenant):
        world = build_world(employees=5, days=1)
        job = _generate(world)
        assert job.status == JobStatus.FAILED
        assert "Stale" in job.error
        assert ProjectAllocationSuggestion.objects.values("employee_id").distinct().count() == 2
        assert job.processed == 2


def test_a_second_generation_for_the_tenant_is_refused_while_one_runs(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=1, days=1)
        first = generation_request(actor=None, start=world.start, end=world.end)
        with pytest.raises(JobAlreadyRunning) as refused:
            generation_request(actor=None, start=world.start, end=world.end)
        assert refused.value.status == 409
        assert refused.value.extra["job_id"] == str(first.id)


def test_the_reaper_fails_jobs_whose_heartbeat_stopped(alpha: TenantHandle) -> None:
    from datetime import timedelta

    from django.utils import timezone

    with tenant_context(alpha.tenant):
        job = job_create(job_type="other", parameters={})
        BackgroundJob.objects.filter(id=job.id).update(
            status=JobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
        assert jobs_reap_stalled(heartbeat_timeout_seconds=300) == 1
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED
        assert "heartbeat" in job.error


# --- the API -------------------------------------------------------------------------------------------


def _hr(handle: TenantHandle) -> dict[str, Any]:
    token = token_for(handle, make_user(handle, f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", "HR"))
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_the_generate_api_answers_202_then_409_naming_the_running_job(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=1, days=1)
    client, auth = alpha.client(), _hr(alpha)
    body = {"start_date": str(world.start), "end_date": str(world.end)}
    accepted = client.post("/api/timesheet-intelligence/generate", body, content_type="application/json", **auth)
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    assert accepted.json()["status_url"] == f"/api/jobs/{job_id}"
    refused = client.post("/api/timesheet-intelligence/generate", body, content_type="application/json", **auth)
    assert refused.status_code == 409
    assert refused.json()["error"]["job_id"] == job_id
    status = client.get(f"/api/jobs/{job_id}", **auth)
    assert status.status_code == 200
    assert status.json()["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_date": "2026-03-10", "end_date": "2026-03-01"}, "end_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-03-31"}, "end_date"),
        ({"start_date": "not-a-date", "end_date": "2026-03-01"}, "start_date"),
        ({"end_date": "2026-03-01"}, "start_date"),
        ({"start_date": "2026-03-01", "end_date": "2026-03-02", "employee_ids": ["nope"]}, "employee_ids"),
        ({"start_date": "2026-03-01", "end_date": "2026-03-02", "employee_ids": [str(uuid.uuid4())]}, "employee_ids"),
    ],
)
def test_the_generate_api_rejects_bad_input_with_field_messages(
    alpha: TenantHandle, body: dict[str, Any], field: str
) -> None:
    response = alpha.client().post(
        "/api/timesheet-intelligence/generate", body, content_type="application/json", **_hr(alpha)
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_generate_api_refuses_another_tenants_employees_and_non_staff(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    with tenant_context(beta.tenant):
        beta_world = build_world(employees=1, days=1)
    body = {
        "start_date": str(beta_world.start),
        "end_date": str(beta_world.end),
        "employee_ids": [str(beta_world.employees[0].id)],
    }
    as_alpha_hr = alpha.client().post(
        "/api/timesheet-intelligence/generate", body, content_type="application/json", **_hr(alpha)
    )
    assert as_alpha_hr.status_code == 400
    employee_token = token_for(alpha, make_user(alpha, "worker@alpha.test", "Employee"))
    as_employee = alpha.client().post(
        "/api/timesheet-intelligence/generate",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {employee_token}",
    )
    assert as_employee.status_code == 403


def test_job_status_of_another_tenant_is_404(alpha: TenantHandle, beta: TenantHandle) -> None:
    with tenant_context(beta.tenant):
        job = job_create(job_type="other", parameters={})
    response = alpha.client().get(f"/api/jobs/{job.id}", **_hr(alpha))
    assert response.status_code == 404
    assert alpha.client().get("/api/jobs/not-a-uuid", **_hr(alpha)).status_code == 404


# --- real processes ------------------------------------------------------------------------------------


def _purge(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE timesheets_projectallocationsuggestion, timesheets_timesheetprojectallocation, "
            "timesheets_unallocatedday, jira_sync_jiraworklog, jira_sync_jiraissueassignment, timesheets_workpattern, "
            "timesheets_attendancerecord, jobs_backgroundjob, timesheets_employee, timesheets_project, "
            "authtoken_token CASCADE"
        )


@pytest.mark.slow
def test_a_real_worker_runs_a_requested_job_to_success_with_matching_counts(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    with django_db_blocker.unblock():
        try:
            with tenant_context(handle.tenant):
                world = build_world(employees=4, days=3)
            auth = _hr(handle)
            with start_worker(
                app, perform_ping_check=False, pool="solo", queues=["celery", "generation"], loglevel="WARNING"
            ):
                response = handle.client().post(
                    "/api/timesheet-intelligence/generate",
                    {"start_date": str(world.start), "end_date": str(world.end), "auto_accept_high_confidence": True},
                    content_type="application/json",
                    **auth,
                )
                assert response.status_code == 202
                status_url = response.json()["status_url"]
                deadline = time.monotonic() + 60
                body: dict[str, Any] = {}
                while time.monotonic() < deadline:
                    body = handle.client().get(status_url, **auth).json()
                    if body["status"] in ("succeeded", "failed"):
                        break
                    time.sleep(0.2)
            assert body["status"] == "succeeded", body
            assert body["progress"] == 100
            with tenant_context(handle.tenant):
                assert body["result"]["suggestions_created"] == ProjectAllocationSuggestion.objects.count()
                in_period = TimesheetProjectAllocation.objects.filter(date__gte=world.start)
                assert body["result"]["auto_accepted"] == in_period.count()
                assert body["result"]["employee_days"] == 12
        finally:
            _purge(handle)
            connections.close_all()


@pytest.mark.slow
def test_two_concurrent_generate_requests_yield_one_job(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    barrier = threading.Barrier(2)
    outcomes: list[int] = []

    def request() -> None:
        with django_db_blocker.unblock():
            barrier.wait()
            try:
                response = handle.client().post(
                    "/api/timesheet-intelligence/generate",
                    {"start_date": "2026-03-02", "end_date": "2026-03-06"},
                    content_type="application/json",
                    **auth,
                )
                outcomes.append(response.status_code)
            finally:
                connections.close_all()

    with django_db_blocker.unblock():
        auth = _hr(handle)
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("intelligence.tasks.timesheets_generate_task.delay", lambda job_id: None)
                threads = [threading.Thread(target=request) for _ in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=30)
            assert sorted(outcomes) == [202, 409]
            with tenant_context(handle.tenant):
                assert BackgroundJob.objects.filter(job_type=JOB_TYPE).count() == 1
        finally:
            _purge(handle)
            connections.close_all()


def test_the_generate_timesheets_command_runs_a_period_and_prints_the_counts(alpha: TenantHandle) -> None:
    import io

    from django.core.management import CommandError, call_command

    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=2)
    out = io.StringIO()
    call_command("generate_timesheets", "--tenant=alpha", f"--start={world.start}", f"--end={world.end}", stdout=out)
    assert "suggestions_created: 12" in out.getvalue()
    assert "succeeded" in out.getvalue()
    with pytest.raises(CommandError, match="end_date"):
        call_command(
            "generate_timesheets", "--tenant=alpha", f"--start={world.end}", f"--end={world.start}", stdout=out
        )
    with pytest.raises(CommandError, match="No tenant"):
        call_command(
            "generate_timesheets", "--tenant=nobody", f"--start={world.start}", f"--end={world.end}", stdout=out
        )
