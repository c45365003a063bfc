"""The sync job against the local stand-in: full then incremental, deletions, retries, failures half-way, mapping."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django_tenants.utils import tenant_context
from pytest_django.fixtures import Settings as SettingsWrapper

from jira_sync import client as client_module
from jira_sync.models import JiraConnection, JiraIssueAssignment, JiraSyncCursor, JiraWorkLog, SyncFeed
from jira_sync.services.schedule import jira_sync_request
from jira_sync.services.sync import JOB_TYPE, LEASE_NAME, jira_sync_run
from jobs.models import BackgroundJob, JobStatus
from jobs.services import JobAlreadyRunning, job_create
from locks.services import lease_acquire, lease_release
from tenants.cache import tenant_cache_get, tenant_cache_set
from tenants.crypto import blind_index
from tenants.models import Tenant
from tests.conftest import TenantHandle
from tests.support.jira_standin import (
    JiraStandin,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
    standin_connect,
)
from timesheets.models import Employee, Project
from timesheets.services import SUGGESTIONS_CACHE_NAMESPACE


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


def _employee(name: str, email: str, *, account: str = "") -> Employee:
    return Employee.objects.create(
        name=name, email=email, email_index=blind_index(email, purpose="email"), jira_account_id=account
    )


def _sync() -> BackgroundJob:
    job = jira_sync_run(job_id=job_create(job_type=JOB_TYPE, parameters={}).id)
    assert job is not None
    return job


def _world(standin: JiraStandin, *, logs: int = 25) -> list[Any]:
    """Ann (mapped by account id) logging on ALPHA-1; the project exists with its Jira key."""
    standin.add_user("acct-ann", email="ann@alpha.test", time_zone="Europe/London")
    standin.add_issue("ALPHA-1", assignee="acct-ann")
    created = [
        standin.add_worklog(
            issue_key="ALPHA-1", author="acct-ann", started=f"2026-03-02T{8 + n % 9:02d}:00:00.000+0000"
        )
        for n in range(logs)
    ]
    standin.advance(61)
    return created


def test_a_full_sync_then_an_incremental_one_fetches_only_what_changed(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    jira_standin.change_page_size = 10
    logs = _world(jira_standin)
    with tenant_context(alpha.tenant):
        ann = _employee("Ann", "ann@alpha.test", account="acct-ann")
        project = Project.objects.create(code="ALPHA", name="Alpha", jira_project_key="ALPHA")
        standin_connect(jira_standin)
        first = _sync()
        assert first.status == JobStatus.SUCCEEDED, first.error
        assert first.progress == 100
        assert first.result["worklogs_upserted"] == 25
        assert JiraWorkLog.objects.count() == 25
        assert set(JiraWorkLog.objects.values_list("employee_id", "project_id", "issue_key")) == {
            (ann.id, project.id, "ALPHA-1")
        }
        assert len(jira_standin.requests_to("/worklog/list")) == 3  # one per page of 10 ids
        assignment = JiraIssueAssignment.objects.get()
        assert (assignment.issue_key, assignment.employee_id, assignment.is_active) == ("ALPHA-1", ann.id, True)
        connection = JiraConnection.objects.get()
        assert connection.last_result["status"] == "succeeded"
        assert connection.last_success_at is not None

        requests_before = len(jira_standin.requests_to("/worklog/list"))
        jira_standin.update_worklog(logs[0].id, seconds=7200)
        added = jira_standin.add_worklog(issue_key="ALPHA-1", author="acct-ann")
        jira_standin.advance(61)
        second = _sync()
        assert second.status == JobStatus.SUCCEEDED, second.error
        fetched = [r.body["ids"] for r in jira_standin.requests_to("/worklog/list")[requests_before:]]
        assert sorted(str(i) for ids in fetched for i in ids) == sorted([logs[0].id, added.id])
        assert second.result["worklogs_upserted"] == 2
        assert JiraWorkLog.objects.count() == 26
        assert JiraWorkLog.objects.get(jira_worklog_id=logs[0].id).seconds == 7200
        cursor = JiraSyncCursor.objects.get(feed=SyncFeed.WORKLOGS_UPDATED)
        assert int(cursor.value) == added.updated_ms  # the newest change applied


def test_a_third_sync_with_nothing_new_writes_nothing_and_keeps_the_cache(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    _world(jira_standin, logs=3)
    with tenant_context(alpha.tenant):
        _employee("Ann", "ann@alpha.test", account="acct-ann")
        standin_connect(jira_standin)
        _sync()
        tenant_cache_set(namespace=SUGGESTIONS_CACHE_NAMESPACE, key="probe", value=1)
        quiet = _sync()
        assert quiet.status == JobStatus.SUCCEEDED
        assert quiet.result["worklogs_upserted"] == quiet.result["worklogs_deleted"] == 0
        assert tenant_cache_get(namespace=SUGGESTIONS_CACHE_NAMESPACE, key="probe") == 1
        jira_standin.add_worklog(issue_key="ALPHA-1", author="acct-ann")
        jira_standin.advance(61)
        assert _sync().result["worklogs_upserted"] == 1
        assert tenant_cache_get(namespace=SUGGESTIONS_CACHE_NAMESPACE, key="probe") is None


def test_work_logs_deleted_in_jira_are_deleted_here(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    logs = _world(jira_standin, logs=5)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        _sync()
        jira_standin.delete_worklog(logs[1].id)
        jira_standin.delete_worklog(logs[3].id)
        jira_standin.advance(61)
        job = _sync()
        assert job.result["worklogs_deleted"] == 2
        assert set(JiraWorkLog.objects.values_list("jira_worklog_id", flat=True)) == {
            logs[0].id,
            logs[2].id,
            logs[4].id,
        }


def test_a_429_is_honoured_and_the_sync_still_succeeds(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    _world(jira_standin, logs=3)
    jira_standin.fail(status=429, path_contains="/worklog/list", times=1, retry_after=1)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        job = _sync()
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert JiraWorkLog.objects.count() == 3
    throttled, retried = jira_standin.requests_to("/worklog/list")
    assert (throttled.status, retried.status) == (429, 200)
    assert retried.at - throttled.at >= 1.0


def test_a_500_half_way_fails_the_job_keeps_committed_pages_and_the_next_run_completes_without_duplicates(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    jira_standin.change_page_size = 5
    logs = _world(jira_standin, logs=20)
    # The first two pages' work logs load; from the third on Jira keeps answering 500.
    jira_standin.fail(status=500, path_contains="/worklog/list", after=2, times=None)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        failed = _sync()
        assert failed.status == JobStatus.FAILED
        assert "500" in failed.error
        assert failed.result["worklogs_upserted"] == 10
        stored = set(JiraWorkLog.objects.values_list("jira_worklog_id", flat=True))
        cursor = int(JiraSyncCursor.objects.get(feed=SyncFeed.WORKLOGS_UPDATED).value)
        # The cursor covers exactly what is committed: nothing past it was stored, nothing before it is missing.
        assert stored == {log.id for log in logs if log.updated_ms <= cursor}
        assert len(stored) == 10
        assert JiraConnection.objects.get().last_result["status"] == "failed"

        jira_standin.clear_faults()
        requests_before = len(jira_standin.requests_to("/worklog/list"))
        resumed = _sync()
        assert resumed.status == JobStatus.SUCCEEDED, resumed.error
        fetched = {str(i) for r in jira_standin.requests_to("/worklog/list")[requests_before:] for i in r.body["ids"]}
        assert fetched.isdisjoint(stored)
        assert JiraWorkLog.objects.count() == 20
        assert not JiraWorkLog.objects.values("jira_worklog_id").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_unmapped_authors_are_stored_counted_and_listed(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    standin = jira_standin
    standin.add_user("acct-ann")
    standin.add_user("acct-bob", email="bob@alpha.test")
    standin.add_user("acct-ghost-1", email="ghost@elsewhere.test")
    standin.add_user("acct-ghost-2")
    standin.add_issue("ALPHA-1")
    for author in ("acct-ann", "acct-bob", "acct-ghost-1", "acct-ghost-1", "acct-ghost-2"):
        standin.add_worklog(issue_key="ALPHA-1", author=author)
    standin.advance(61)
    with tenant_context(alpha.tenant):
        ann = _employee("Ann", "ann@alpha.test", account="acct-ann")
        bob = _employee("Bob", "bob@alpha.test")  # no account id: found by email through the blind index
        standin_connect(standin)
        job = _sync()
        assert job.status == JobStatus.SUCCEEDED
        assert job.result["worklogs_unmapped"] == 3
        assert job.result["unmapped_author_count"] == 2
        assert job.result["unmapped_authors"] == ["acct-ghost-1", "acct-ghost-2"]
        by_author = dict(JiraWorkLog.objects.values_list("author_account_id", "employee_id"))
        assert by_author == {"acct-ann": ann.id, "acct-bob": bob.id, "acct-ghost-1": None, "acct-ghost-2": None}

        # Once HR records the account id, the next sync links the logs already stored.
        ghost = _employee("Gus", "gus@alpha.test", account="acct-ghost-1")
        relinked = _sync()
        assert relinked.result["relinked"] == 2
        assert JiraWorkLog.objects.filter(author_account_id="acct-ghost-1", employee=ghost).count() == 2


def test_a_work_log_counts_for_the_authors_own_calendar_day(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    jira_standin.add_user("acct-tokyo", time_zone="Asia/Tokyo")
    jira_standin.add_user("acct-no-zone", time_zone=None)
    jira_standin.add_issue("ALPHA-1")
    tokyo = jira_standin.add_worklog(issue_key="ALPHA-1", author="acct-tokyo", started="2026-03-02T23:30:00.000+0000")
    zoneless = jira_standin.add_worklog(
        issue_key="ALPHA-1", author="acct-no-zone", started="2026-03-03T05:00:00.000+0000"
    )
    jira_standin.advance(61)
    # Without a zone on the author, the tenant's zone decides.
    Tenant.objects.filter(id=alpha.tenant.id).update(timezone="America/Los_Angeles")
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        _sync()
        log = JiraWorkLog.objects.get(jira_worklog_id=tokyo.id)
        assert log.work_date == date(2026, 3, 3)
        assert log.started_at.isoformat() == "2026-03-02T23:30:00+00:00"
        assert JiraWorkLog.objects.get(jira_worklog_id=zoneless.id).work_date == date(2026, 3, 2)


def test_issue_assignments_follow_assignee_and_status_within_the_project_filter(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    standin = jira_standin
    standin.add_user("acct-ann")
    standin.add_issue("ALPHA-1", assignee="acct-ann")
    standin.add_issue("ALPHA-2")
    standin.add_issue("ALPHA-3", assignee="acct-ann", status="Done")
    standin.add_issue("OTHER-1", assignee="acct-ann")
    standin.add_worklog(issue_key="OTHER-1", author="acct-ann")
    standin.add_worklog(issue_key="ALPHA-2", author="acct-ann")
    standin.advance(61)
    with tenant_context(alpha.tenant):
        ann = _employee("Ann", "ann@alpha.test", account="acct-ann")
        project = Project.objects.create(code="ALPHA", name="Alpha", jira_project_key="alpha")
        standin_connect(standin, project_keys=["ALPHA"])
        job = _sync()
        assert job.status == JobStatus.SUCCEEDED, job.error
        jql = standin.requests_to("/search/jql")[0].body["jql"]
        assert jql.startswith('project in ("ALPHA") AND updated >= "')
        assert jql.endswith(" ORDER BY updated ASC")
        state = {a.issue_key: (a.employee_id, a.project_id, a.is_active) for a in JiraIssueAssignment.objects.all()}
        assert state == {
            "ALPHA-1": (ann.id, project.id, True),
            "ALPHA-2": (None, project.id, False),
            "ALPHA-3": (ann.id, project.id, False),
        }
        assert job.result["worklogs_skipped"] == 1  # the log on OTHER-1
        assert list(JiraWorkLog.objects.values_list("issue_key", flat=True)) == ["ALPHA-2"]

        standin.set_issue("ALPHA-1", status="Done")
        standin.set_issue("ALPHA-2", assignee="acct-ann")
        _sync()
        later_jql = standin.requests_to("/search/jql")[-1].body["jql"]
        assert later_jql != jql  # bounded by the issues cursor now
        assert dict(JiraIssueAssignment.objects.values_list("issue_key", "is_active")) == {
            "ALPHA-1": False,
            "ALPHA-2": True,
            "ALPHA-3": False,
        }


def test_work_logs_on_issues_not_seen_by_the_issue_search_are_resolved_by_id(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    jira_standin.add_user("acct-ann")
    # Updated long before the first sync's look-back: the issue search does not return it.
    jira_standin.add_issue("ALPHA-9", updated_ms=jira_standin.now_ms() - 400 * 86_400_000)
    log = jira_standin.add_worklog(issue_key="ALPHA-9", author="acct-ann")
    jira_standin.advance(61)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        job = _sync()
        assert job.result["issue_lookups"] == 1
        assert JiraWorkLog.objects.get(jira_worklog_id=log.id).issue_key == "ALPHA-9"
        assert "id in (" in jira_standin.requests_to("/search/jql")[-1].body["jql"]


def test_only_one_sync_runs_per_tenant(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    _world(jira_standin, logs=2)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        first = jira_sync_request(actor=None, enqueue=False)
        with pytest.raises(JobAlreadyRunning) as refused:
            jira_sync_request(actor=None, enqueue=False)
        assert refused.value.status == 409
        assert refused.value.extra["job_id"] == str(first.id)
        # Someone else holds the lease (a run from before a job row existed): the job fails, nothing is written.
        held = lease_acquire(name=LEASE_NAME)
        try:
            job = jira_sync_run(job_id=first.id)
        finally:
            lease_release(held)
        assert job is not None
        assert job.status == JobStatus.FAILED
        assert "already running" in job.error
        assert not JiraWorkLog.objects.exists()


def test_a_sync_without_an_enabled_connection_is_refused(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    with tenant_context(alpha.tenant):
        with pytest.raises(Exception, match="no enabled Jira connection"):
            jira_sync_request(actor=None, enqueue=False)
        standin_connect(jira_standin, enabled=False)
        with pytest.raises(Exception, match="no enabled Jira connection"):
            jira_sync_request(actor=None, enqueue=False)


def test_bad_credentials_fail_the_job_with_a_clear_error(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin, api_token="revoked-token")
        job = _sync()
        assert job.status == JobStatus.FAILED
        assert "401" in job.error


def test_the_sync_jira_command_runs_in_the_foreground_and_exits_non_zero_on_failure(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    jira_standin.change_page_size = 2
    _world(jira_standin, logs=5)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
    out = io.StringIO()
    call_command("sync_jira", "--tenant=alpha", stdout=out)
    text = out.getvalue()
    assert "worklogs_updated: page" in text
    assert "worklogs_upserted: 5" in text
    assert "succeeded" in text
    jira_standin.fail(status=500, path_contains="/search/jql", times=None)
    with pytest.raises(CommandError, match="Jira sync failed: Jira answered 500"):
        call_command("sync_jira", "--tenant=alpha", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No tenant"):
        call_command("sync_jira", "--tenant=nobody", stdout=io.StringIO())
    with tenant_context(alpha.tenant):
        JiraConnection.objects.all().delete()
    with pytest.raises(CommandError, match="no enabled Jira connection"):
        call_command("sync_jira", "--tenant=alpha", stdout=io.StringIO())


def test_a_failed_sync_records_the_status_never_what_the_remote_side_said(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    jira_standin.fail(status=400, times=None)
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        job = _sync()
    assert job.status == JobStatus.FAILED
    assert "400" in job.error
    assert "stand-in fault" not in job.error


def test_a_sync_to_a_private_address_is_refused_without_connecting(
    alpha: TenantHandle, jira_standin: JiraStandin, settings: SettingsWrapper
) -> None:
    """A connection stored while the development setting was on (or before the policy) is refused by the worker."""
    settings.JIRA_ALLOW_PRIVATE_HOSTS = False
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
        job = _sync()
    assert job.status == JobStatus.FAILED
    assert "not allowed" in job.error
    assert jira_standin.requests == []
