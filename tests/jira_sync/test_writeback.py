"""Two-way sync against the stand-in: accepted allocations written back to Jira as work logs, exactly once."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from jira_sync import client as client_module
from jira_sync.client import WRITEBACK_PROPERTY, JiraClient, JiraUnavailable, WorklogEntry
from jira_sync.models import JiraWorkLog, JiraWorklogWriteback
from jira_sync.services.sync import JOB_TYPE, jira_sync_run
from jobs.models import BackgroundJob, JobStatus
from jobs.services import job_create
from tenants.crypto import blind_index
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.jira_standin import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    JiraStandin,
    StandinWorklog,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
    standin_connect,
)
from timesheets.models import Employee, Project, TimesheetProjectAllocation

DAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


def _sync() -> BackgroundJob:
    job = jira_sync_run(job_id=job_create(job_type=JOB_TYPE, parameters={}).id)
    assert job is not None
    return job


def _written(standin: JiraStandin, key: str = "ALPHA-1") -> list[StandinWorklog]:
    return [log for log in standin.worklogs_on(key) if WRITEBACK_PROPERTY in log.properties]


def _world(standin: JiraStandin, *, logged_seconds: int = 7200) -> tuple[Employee, Project]:
    """Ann, assigned ALPHA-1, logged `logged_seconds` on DAY in Jira; the tenant has her and the project."""
    standin.add_user("acct-ann", email="ann@alpha.test", time_zone="UTC")
    standin.add_issue("ALPHA-1", assignee="acct-ann")
    if logged_seconds:
        standin.add_worklog(
            issue_key="ALPHA-1", author="acct-ann", started="2026-03-02T10:00:00.000+0000", seconds=logged_seconds
        )
    standin.advance(61)
    ann = Employee.objects.create(
        name="Ann", email="ann@alpha.test", email_index=blind_index("ann@alpha.test", purpose="email"),
        jira_account_id="acct-ann",
    )  # fmt: skip
    project = Project.objects.create(code="ALPHA", name="Alpha", jira_project_key="ALPHA")
    standin_connect(standin, write_back_enabled=True, write_back_since=date(2026, 3, 1))
    return ann, project


def _allocate(employee: Employee, project: Project, hours: str, day: date = DAY) -> TimesheetProjectAllocation:
    allocation, _ = TimesheetProjectAllocation.objects.update_or_create(
        employee=employee, project=project, date=day, defaults={"hours": Decimal(hours), "suggestion_accepted": True}
    )
    return allocation


def test_an_accepted_allocation_is_written_back_once_for_the_hours_jira_does_not_have(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=7200)
        allocation = _allocate(ann, project, "5.00")
        job = _sync()
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.result["writeback_created"] == 1
        (written,) = _written(jira_standin)
        # 5 h accepted, 2 h already logged by Ann: Jira is told about the other 3 h.
        assert written.seconds == 3 * 3600
        assert written.properties[WRITEBACK_PROPERTY] == {"allocation_id": str(allocation.id)}
        assert written.started.startswith("2026-03-02T09:00:00.000")
        assert "Ann: 5.00 h on ALPHA (2026-03-02)" in written.comment
        record = JiraWorklogWriteback.objects.get()
        assert (record.allocation_id, record.jira_worklog_id, record.seconds, record.pending) == (
            allocation.id,
            written.id,
            3 * 3600,
            False,
        )

        # The written log comes back through Jira's change feed: it is not evidence, so it is not stored.
        jira_standin.advance(61)
        again = _sync()
        assert again.result["worklogs_written_back"] == 1
        assert again.result["writeback_unchanged"] == 1
        assert again.result["writeback_created"] == 0
        assert not JiraWorkLog.objects.filter(jira_worklog_id=written.id).exists()
        assert len(_written(jira_standin)) == 1
        assert len([r for r in jira_standin.requests_to("/issue/ALPHA-1/worklog") if r.method == "POST"]) == 1


def test_a_lost_answer_to_the_create_is_found_by_its_property_and_updated_not_duplicated(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=0)
        allocation = _allocate(ann, project, "4.00")
        # Jira creates the work log, but the answer is a 500: the outcome is unknown to us.
        jira_standin.fail(status=500, path_contains="/issue/ALPHA-1/worklog", method="POST", after_effect=True)
        failed = _sync()
        assert failed.status == JobStatus.FAILED
        assert "500" in failed.error
        posts = [r for r in jira_standin.requests_to("/issue/ALPHA-1/worklog") if r.method == "POST"]
        assert len(posts) == 1  # a create is never retried blindly
        assert len(_written(jira_standin)) == 1
        assert JiraWorklogWriteback.objects.get().pending

        _allocate(ann, project, "6.00")  # corrected meanwhile
        resumed = _sync()
        assert resumed.status == JobStatus.SUCCEEDED, resumed.error
        assert resumed.result["writeback_recovered"] == 1
        assert resumed.result["writeback_updated"] == 1
        assert resumed.result["writeback_created"] == 0
        (written,) = _written(jira_standin)
        assert written.seconds == 6 * 3600
        assert written.properties[WRITEBACK_PROPERTY]["allocation_id"] == str(allocation.id)
        record = JiraWorklogWriteback.objects.get()
        assert (record.jira_worklog_id, record.seconds, record.pending) == (written.id, 6 * 3600, False)


def test_a_pending_write_whose_create_never_reached_jira_is_created_on_the_next_run(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=0)
        _allocate(ann, project, "2.00")
        jira_standin.fail(status=500, path_contains="/issue/ALPHA-1/worklog", method="POST")
        assert _sync().status == JobStatus.FAILED
        assert _written(jira_standin) == []
        resumed = _sync()
        assert resumed.status == JobStatus.SUCCEEDED, resumed.error
        assert (resumed.result["writeback_recovered"], resumed.result["writeback_created"]) == (1, 1)
        assert [log.seconds for log in _written(jira_standin)] == [7200]


def test_changed_covered_and_deleted_allocations_update_and_remove_their_work_logs(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=3600)
        allocation = _allocate(ann, project, "3.00")
        other_day = _allocate(ann, project, "1.50", day=date(2026, 3, 3))
        assert _sync().result["writeback_created"] == 2
        by_allocation = {log.properties[WRITEBACK_PROPERTY]["allocation_id"]: log for log in _written(jira_standin)}
        assert by_allocation[str(allocation.id)].seconds == 2 * 3600
        assert by_allocation[str(other_day.id)].seconds == 5400
        first_id = by_allocation[str(allocation.id)].id

        _allocate(ann, project, "3.50")
        other_day.delete()
        job = _sync()
        assert (job.result["writeback_updated"], job.result["writeback_deleted"]) == (1, 1)
        (remaining,) = _written(jira_standin)
        assert (remaining.id, remaining.seconds) == (first_id, int(2.5 * 3600))
        assert JiraWorklogWriteback.objects.count() == 1

        # Ann logs the rest in Jira herself: nothing is left to write, so our work log goes.
        jira_standin.add_worklog(
            issue_key="ALPHA-1", author="acct-ann", started="2026-03-02T14:00:00.000+0000", seconds=int(2.5 * 3600)
        )
        jira_standin.advance(61)
        assert _sync().result["writeback_deleted"] == 1
        assert _written(jira_standin) == []
        assert not JiraWorklogWriteback.objects.exists()


def test_nothing_is_written_back_unless_the_tenant_turns_it_on_or_without_an_issue_to_write_on(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=0)
        _allocate(ann, project, "4.00")
        standin_connect(jira_standin, write_back_enabled=False)
        off = _sync()
        assert off.status == JobStatus.SUCCEEDED
        assert "writeback_created" not in off.result
        assert not [r for r in jira_standin.requests if r.method in ("PUT", "DELETE") or "/issue/" in r.path]

        bob = Employee.objects.create(name="Bob", email="bob@alpha.test", email_index=uuid.uuid4().hex)
        _allocate(bob, project, "3.00")
        standin_connect(jira_standin, write_back_enabled=True, write_back_since=date(2026, 3, 1))
        on = _sync()
        assert (on.result["writeback_created"], on.result["writeback_without_issue"]) == (1, 1)
        # Allocations before the switch-on date stay out of Jira.
        _allocate(ann, project, "8.00", day=date(2026, 2, 27))
        assert _sync().result["writeback_created"] == 0


def test_the_client_does_not_retry_a_create_after_a_server_error(jira_standin: JiraStandin) -> None:
    jira_standin.add_issue("ALPHA-1")
    jira_standin.fail(status=500, path_contains="/worklog", method="POST", times=None)
    entry = WorklogEntry(
        allocation_id=str(uuid.uuid4()),
        started=client_module.parse_jira_time("2026-03-02T09:00:00.000+0000"),
        seconds=3600,
        comment="x",
    )
    with JiraClient(site_url=jira_standin.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN) as client:
        with pytest.raises(JiraUnavailable):
            client.worklog_create("ALPHA-1", entry)
        assert len(jira_standin.requests_to("/worklog")) == 1
        jira_standin.clear_faults()
        created = client.worklog_create("ALPHA-1", entry)
        assert client.worklog_find_by_allocation("ALPHA-1", entry.allocation_id) == created
        assert client.worklog_delete("ALPHA-1", created.id) is True
        assert client.worklog_delete("ALPHA-1", created.id) is False


def test_admins_turn_write_back_on_through_the_connection_api(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    admin = make_user(alpha, f"admin-{uuid.uuid4().hex[:6]}@alpha.test", "Admin")
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {token_for(alpha, admin)}"}
    body: dict[str, Any] = {"site_url": jira_standin.url, "email": DEFAULT_EMAIL, "api_token": DEFAULT_TOKEN}
    saved = alpha.client().put("/api/jira/connection", body, content_type="application/json", **auth).json()
    assert (saved["write_back_enabled"], saved["write_back_since"]) == (False, None)
    body |= {"write_back_enabled": True}
    turned_on = alpha.client().put("/api/jira/connection", body, content_type="application/json", **auth).json()
    assert turned_on["write_back_enabled"] is True
    assert turned_on["write_back_since"] is not None  # today, in the tenant's calendar
    # Saved again without the setting (e.g. a new token): it stays on.
    kept = alpha.client().put(
        "/api/jira/connection", {**body, "write_back_enabled": None}, content_type="application/json", **auth
    )
    assert kept.status_code == 400  # null is not a boolean
    body.pop("write_back_enabled")
    assert (
        alpha.client()
        .put("/api/jira/connection", body, content_type="application/json", **auth)
        .json()["write_back_enabled"]
    )
