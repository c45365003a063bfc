"""Pay periods: the policy, closing (with or without an override), reopening, and the database lock on every path."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from core.errors import PeriodLocked, database_error_translate
from intelligence.generation import JOB_TYPE, timesheets_generate
from jobs.services import job_create
from tenants.exporting import tenant_export
from tenants.importing import tenant_import
from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    auth,
    make_allocation,
    make_attendance,
    make_employee,
    make_project,
    make_suggestion,
    staff_token,
)
from timesheets.lifecycle import Policy, locked_dates, period_bounds
from timesheets.models import (
    PayPeriod,
    PayPeriodStatus,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
)
from timesheets.services.periods import pay_period_close

MARCH = date(2026, 3, 2)


def _close(handle: TenantHandle, token: str, day: date = MARCH, **body: Any) -> Any:
    return handle.client().post(
        "/api/pay-periods/close", {"date": day.isoformat(), **body}, content_type="application/json", **auth(token)
    )


def _closed_march(handle: TenantHandle) -> PayPeriod:
    with tenant_context(handle.tenant), transaction.atomic():
        return pay_period_close(actor=None, day=MARCH, override=True, override_reason="test").period


@pytest.mark.parametrize(
    ("frequency", "anchor", "day", "expected"),
    [
        ("monthly", date(2026, 1, 1), date(2026, 3, 17), (date(2026, 3, 1), date(2026, 3, 31))),
        ("monthly", date(2026, 1, 25), date(2026, 3, 17), (date(2026, 2, 25), date(2026, 3, 24))),
        ("monthly", date(2026, 1, 25), date(2026, 3, 25), (date(2026, 3, 25), date(2026, 4, 24))),
        ("semi_monthly", date(2026, 1, 1), date(2026, 2, 20), (date(2026, 2, 16), date(2026, 2, 28))),
        ("semi_monthly", date(2026, 1, 1), date(2026, 2, 15), (date(2026, 2, 1), date(2026, 2, 15))),
        ("weekly", date(2026, 1, 5), date(2026, 3, 4), (date(2026, 3, 2), date(2026, 3, 8))),
        ("biweekly", date(2026, 1, 5), date(2026, 3, 4), (date(2026, 3, 2), date(2026, 3, 15))),
        ("biweekly", date(2026, 1, 5), date(2025, 12, 30), (date(2025, 12, 22), date(2026, 1, 4))),
    ],
)
def test_the_period_containing_a_day_follows_the_policy(
    frequency: str, anchor: date, day: date, expected: tuple[date, date]
) -> None:
    assert period_bounds(day, Policy(frequency=frequency, anchor_date=anchor)) == expected


def test_the_policy_is_read_by_anyone_and_set_by_an_admin_only(alpha: TenantHandle) -> None:
    client = alpha.client()
    hr, admin = staff_token(alpha, "HR"), staff_token(alpha, "Admin")
    assert client.get("/api/pay-periods/policy", **auth(hr)).json() == {
        "frequency": "monthly",
        "anchor_date": "2026-01-01",
    }
    body = {"frequency": "biweekly", "anchor_date": "2026-01-05"}
    assert client.put("/api/pay-periods/policy", body, content_type="application/json", **auth(hr)).status_code == 403
    response = client.put("/api/pay-periods/policy", body, content_type="application/json", **auth(admin))
    assert response.status_code == 200, response.content
    periods = client.get("/api/pay-periods?date_from=2026-03-02&date_to=2026-03-20", **auth(hr)).json()
    assert [(p["start_date"], p["end_date"], p["status"]) for p in periods] == [
        ("2026-03-16", "2026-03-29", "open"),
        ("2026-03-02", "2026-03-15", "open"),
    ]
    bad = client.put(
        "/api/pay-periods/policy", {"frequency": "monthly", "anchor_date": "2026-01-30"},
        content_type="application/json", **auth(admin),
    )  # fmt: skip
    assert bad.status_code == 400
    assert "anchor_date" in bad.json()["error"]["fields"]


def test_closing_is_refused_while_weeks_are_not_approved_and_lists_them(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha, name="Ann")
    make_attendance(alpha, ann, day=MARCH)
    make_attendance(alpha, ann, day=MARCH + timedelta(days=7))

    refused = _close(alpha, token)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["unapproved_count"] == 2
    assert {(row["employee"], row["week_start"], row["status"]) for row in error["unapproved"]} == {
        (str(ann.id), "2026-03-02", "draft"),
        (str(ann.id), "2026-03-09", "draft"),
    }
    without_reason = _close(alpha, token, override=True)
    assert without_reason.status_code == 400
    assert "override_reason" in without_reason.json()["error"]["fields"]

    closed = _close(alpha, token, override=True, override_reason="Payroll run is today")
    assert closed.status_code == 200, closed.content
    body = closed.json()
    assert (body["start_date"], body["end_date"], body["status"], body["override"]) == (
        "2026-03-01", "2026-03-31", "closed", True,
    )  # fmt: skip
    assert len(body["unapproved"]) == 2
    assert _close(alpha, token, override=True, override_reason="again").status_code == 409
    with tenant_context(alpha.tenant):
        assert AuditEvent.objects.filter(action="pay_period.close", object_id=body["id"]).count() == 1


def test_a_period_without_attendance_closes_without_an_override(alpha: TenantHandle) -> None:
    response = _close(alpha, staff_token(alpha))
    assert response.status_code == 200
    assert response.json()["override"] is False


def test_the_lock_holds_in_the_database_for_the_orm_and_raw_sql(alpha: TenantHandle) -> None:
    ann, project = make_employee(alpha), make_project(alpha)
    kept = make_allocation(alpha, ann, project, day=MARCH, hours="6.00")
    _closed_march(alpha)
    table = TimesheetProjectAllocation._meta.db_table
    with tenant_context(alpha.tenant):
        attempts = [
            lambda: TimesheetProjectAllocation.objects.create(
                employee=ann, project=project, date=MARCH + timedelta(days=1), hours=Decimal(1)
            ),
            lambda: TimesheetProjectAllocation.objects.filter(id=kept.id).update(hours=Decimal(2)),
            lambda: TimesheetProjectAllocation.objects.filter(id=kept.id).delete(),
            lambda: connection.cursor().execute(f"UPDATE {table} SET hours = 1 WHERE id = %s", [kept.id]),
            lambda: connection.cursor().execute(f"DELETE FROM {table}"),
            # Moving a row out of the period is a change to the period too.
            lambda: connection.cursor().execute(f"UPDATE {table} SET date = '2026-04-01'"),
        ]
        for attempt in attempts:
            with pytest.raises(DatabaseError) as caught, transaction.atomic():
                attempt()
            translated = database_error_translate(caught.value)
            assert isinstance(translated, PeriodLocked)
            assert translated.extra["period"]["start_date"] == "2026-03-01"
            assert "2026-03-01 to 2026-03-31" in translated.message
        assert TimesheetProjectAllocation.objects.get(id=kept.id).hours == Decimal("6.00")
        # Outside the period nothing changes.
        TimesheetProjectAllocation.objects.create(
            employee=ann, project=project, date=date(2026, 4, 1), hours=Decimal(1)
        )
        assert locked_dates(date(2026, 3, 30), date(2026, 4, 2)) == {date(2026, 3, 30), date(2026, 3, 31)}


def test_the_api_refuses_imports_and_acceptances_into_a_closed_period_with_409_naming_it(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, project = make_employee(alpha), make_project(alpha)
    suggestion = make_suggestion(alpha, ann, project, day=MARCH, expiry_date=date(2099, 1, 1))
    period = _closed_march(alpha)
    client = alpha.client()
    row = {"employee": str(ann.id), "project": str(project.id), "date": "2026-03-03", "hours": "4"}
    imported = client.post("/api/allocations", [row], content_type="application/json", **auth(token))
    assert imported.status_code == 409
    assert imported.json()["error"]["code"] == "period_locked"
    assert imported.json()["error"]["period"]["id"] == str(period.id)
    accepted = client.post(
        "/api/timesheet-intelligence/suggestions/accept",
        {"ids": [str(suggestion.id)]},
        content_type="application/json",
        **auth(token),
    )
    assert accepted.status_code == 409
    assert accepted.json()["error"]["code"] == "period_locked"
    with tenant_context(alpha.tenant):
        assert not TimesheetProjectAllocation.objects.exists()
        assert ProjectAllocationSuggestion.objects.get(id=suggestion.id).status == SuggestionStatus.PENDING


def test_only_an_admin_reopens_with_a_reason_and_the_period_unlocks(alpha: TenantHandle) -> None:
    ann, project = make_employee(alpha), make_project(alpha)
    period = _closed_march(alpha)
    client = alpha.client()
    path = f"/api/pay-periods/{period.id}/reopen"
    hr, admin = staff_token(alpha, "HR"), staff_token(alpha, "Admin")
    assert client.post(path, {"reason": "x"}, content_type="application/json", **auth(hr)).status_code == 403
    assert client.post(path, {"reason": ""}, content_type="application/json", **auth(admin)).status_code == 400
    reopened = client.post(path, {"reason": "Late correction"}, content_type="application/json", **auth(admin))
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert reopened.json()["reopen_reason"] == "Late correction"
    assert client.post(path, {"reason": "again"}, content_type="application/json", **auth(admin)).status_code == 409
    make_allocation(alpha, ann, project, day=MARCH)
    with tenant_context(alpha.tenant):
        assert PayPeriod.objects.get(id=period.id).status == PayPeriodStatus.OPEN
        assert AuditEvent.objects.filter(action="pay_period.reopen", object_id=str(period.id)).count() == 1


def test_generation_skips_the_days_of_a_closed_period_and_reports_how_many(alpha: TenantHandle) -> None:
    ann = make_employee(alpha)
    make_project(alpha, jira_project_key="APO")
    for offset in range(3):  # 2026-03-30, 31 (closed March) and 2026-04-01 (open)
        make_attendance(alpha, ann, day=date(2026, 3, 30) + timedelta(days=offset))
    _closed_march(alpha)
    with tenant_context(alpha.tenant):
        job = job_create(
            job_type=JOB_TYPE,
            parameters={"start_date": "2026-03-30", "end_date": "2026-04-01", "auto_accept_high_confidence": True},
        )
        finished = timesheets_generate(job_id=job.id)
        assert finished is not None
        assert finished.status == "succeeded", finished.error
        assert finished.result["locked_days_skipped"] == 2
        assert finished.result["employee_days"] == 1
        dates = set(ProjectAllocationSuggestion.objects.values_list("date", flat=True))
        assert dates <= {date(2026, 4, 1)}
        assert not TimesheetProjectAllocation.objects.filter(date__lt=date(2026, 4, 1)).exists()


def test_a_tenant_whose_periods_are_closed_exports_and_restores(alpha: TenantHandle, tmp_path: Path) -> None:
    ann, project = make_employee(alpha), make_project(alpha)
    make_allocation(alpha, ann, project, day=MARCH, hours="7.25")
    _closed_march(alpha)
    archive = tmp_path / "alpha.zip"
    tenant_export(slug=alpha.tenant.slug, out=archive, include_pii=False)

    result = tenant_import(archive_path=archive, slug="alpha-locked", domain="alpha-locked.localhost")

    with tenant_context(result.tenant):
        assert PayPeriod.objects.get().status == PayPeriodStatus.CLOSED
        assert TimesheetProjectAllocation.objects.get().hours == Decimal("7.25")
        # The restored tenant's period is locked too.
        with pytest.raises(DatabaseError), transaction.atomic():
            TimesheetProjectAllocation.objects.update(hours=1)
