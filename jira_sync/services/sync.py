"""The Jira sync job: issues and work logs read through their change feeds, then the write-back.

The sync reads three feeds, each with a cursor in `JiraSyncCursor`: issues (JQL `updated >= cursor`, ordered
by `updated`), work logs updated and work logs deleted (Jira's since/until change feeds). Every page is
written in one transaction together with its cursor, behind the tenant's `jira-sync` lease, so a failure
leaves each cursor at the last page whose data is committed and the next run resumes there; upserts by Jira
id make the small overlaps harmless. See docs/jira.md.
"""

# ruff: noqa: S608 - table names come from model metadata; every value is a bound parameter.
from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from audit.services import Actor, audit_append
from core.errors import ApplicationError
from jira_sync.client import Issue, JiraClient, JiraError, Worklog, jql_project_clause
from jira_sync.models import JiraConnection, JiraIssueAssignment, JiraSyncCursor, JiraWorkLog, SyncFeed
from jira_sync.selectors import jira_connection_get, jira_cursor_get
from jira_sync.services.connection import jira_client_for, project_keys_clean
from jira_sync.services.directories import (
    AuthorDirectory,
    IssueDirectory,
    ZoneDirectory,
    projects_by_key,
    tenant_time_zone,
)
from jira_sync.writeback import WritebackTotals, worklogs_write_back
from jobs.models import BackgroundJob
from jobs.runner import JobOutcome, JobRun, job_run
from jobs.services import job_progress
from locks.services import Lease, lease_guard, lease_renew
from timesheets.models import Employee, Project
from timesheets.services import suggestions_cache_invalidate

logger = logging.getLogger(__name__)

JOB_TYPE = "jira_sync"
LEASE_NAME = "jira-sync"
# Long enough to cover one page including a few Retry-After waits; renewed after every page.
LEASE_TTL_SECONDS = 300
JOB_ACTOR = Actor(kind="job", label="jira sync")
# How far back the first sync of a tenant reads (work logs and issues updated since then).
INITIAL_LOOKBACK_DAYS = 365
# The deleted feed of a first sync starts a little before the sync did, so nothing deleted meanwhile is missed.
DELETED_FEED_START_MARGIN_MS = 5 * 60 * 1000
# JQL dates have minute resolution: re-read the minute of the cursor (upserts make that harmless).
ISSUES_CURSOR_OVERLAP = timedelta(minutes=1)
# Without the API account's zone we do not know how Jira reads a JQL date: re-read a day more.
ISSUES_CURSOR_OVERLAP_UNKNOWN_ZONE = timedelta(hours=26)
UNMAPPED_LIST_LIMIT = 50
WORKLOG_UPDATE_FIELDS = [
    "issue_id",
    "issue_key",
    "project",
    "employee",
    "author_account_id",
    "started_at",
    "work_date",
    "seconds",
    "synced_at",
]
ASSIGNMENT_UPDATE_FIELDS = [
    "issue_key",
    "employee",
    "project",
    "assignee_account_id",
    "status",
    "is_active",
    "jira_updated_at",
    "synced_at",
]

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class SyncTotals:
    pages: int = 0
    issues_upserted: int = 0
    issues_inactive: int = 0
    issue_lookups: int = 0
    assignments_unmapped: int = 0
    worklogs_upserted: int = 0
    worklogs_deleted: int = 0
    # Work logs on issues outside the project filter, or on issues the account cannot see.
    worklogs_skipped: int = 0
    worklogs_without_project: int = 0
    worklogs_unmapped: int = 0
    # Work logs we wrote back to Jira for accepted allocations: not evidence, so not stored as work logs.
    worklogs_written_back: int = 0
    relinked: int = 0
    unmapped_authors: set[str] = field(default_factory=set)
    writeback: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.issues_upserted or self.worklogs_upserted or self.worklogs_deleted or self.relinked)

    @property
    def written_back(self) -> bool:
        return any(self.writeback.get(f"writeback_{kind}") for kind in ("created", "updated", "deleted", "recovered"))

    def as_result(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "issues_upserted": self.issues_upserted,
            "issues_inactive": self.issues_inactive,
            "issue_lookups": self.issue_lookups,
            "assignments_unmapped": self.assignments_unmapped,
            "worklogs_upserted": self.worklogs_upserted,
            "worklogs_deleted": self.worklogs_deleted,
            "worklogs_skipped": self.worklogs_skipped,
            "worklogs_without_project": self.worklogs_without_project,
            "worklogs_unmapped": self.worklogs_unmapped,
            "worklogs_written_back": self.worklogs_written_back,
            "relinked": self.relinked,
            "unmapped_author_count": len(self.unmapped_authors),
            "unmapped_authors": sorted(self.unmapped_authors)[:UNMAPPED_LIST_LIMIT],
            **self.writeback,
        }


class SyncProgress:
    """Pages done, and an estimate of the pages left from how far through its time span each feed is."""

    PHASES = ("issues", "worklogs_updated", "worklogs_deleted", "write_back")

    def __init__(self, job_id: uuid.UUID, on_progress: ProgressCallback | None, *, write_back: bool = False) -> None:
        self.phases = self.PHASES if write_back else self.PHASES[:-1]
        self.job_id = job_id
        self.on_progress = on_progress
        self.pages = 0
        self._phase_pages: dict[str, int] = {}

    def page(self, *, phase: str, fraction: float | None, totals: SyncTotals) -> None:
        self.pages += 1
        totals.pages = self.pages
        in_phase = self._phase_pages[phase] = self._phase_pages.get(phase, 0) + 1
        remaining = 1
        if fraction is not None and 0 < fraction < 1:
            remaining = max(1, math.ceil(in_phase * (1 - fraction) / fraction))
        later_phases = len(self.phases) - 1 - self.phases.index(phase)
        total = self.pages + remaining + later_phases
        job_progress(job_id=self.job_id, processed=self.pages, total=total, result=totals.as_result())
        if self.on_progress is not None:
            self.on_progress(self.pages, total, phase)


def _fraction(position: float, start: float, end: float) -> float | None:
    return None if end <= start else min(1.0, max(0.0, (position - start) / (end - start)))


@dataclass
class SyncContext:
    client: JiraClient
    lease: Lease
    project_keys: tuple[str, ...]
    account_time_zone: str
    started_ms: int
    authors: AuthorDirectory
    zones: ZoneDirectory
    issues: IssueDirectory
    projects: dict[str, uuid.UUID]
    totals: SyncTotals
    progress: SyncProgress


def _cursor_set(feed: str, value: str) -> None:
    JiraSyncCursor.objects.bulk_create(
        [JiraSyncCursor(feed=feed, value=value)],
        update_conflicts=True,
        unique_fields=["feed"],
        update_fields=["value", "updated_at"],
    )


def _cursor_ms(feed: str) -> int | None:
    value = jira_cursor_get(feed=feed)
    return int(value) if value else None


def _assignment_state(row: JiraIssueAssignment) -> tuple[Any, ...]:
    return (
        row.issue_key,
        row.employee_id,
        row.project_id,
        row.assignee_account_id,
        row.status,
        row.is_active,
        row.jira_updated_at,
    )


def _assignments_upsert(ctx: SyncContext, issues: Iterable[Issue]) -> int:
    """Upsert the issues' assignments, skipping those already stored as they are (the JQL re-reads a minute)."""
    rows: dict[str, JiraIssueAssignment] = {}
    for issue in issues:
        employee_id = (
            ctx.authors.resolve(issue.assignee_account_id, issue.assignee_email) if issue.assignee_account_id else None
        )
        if issue.assignee_account_id and employee_id is None:
            ctx.totals.assignments_unmapped += 1
        active = issue.assignee_account_id is not None and not issue.is_done
        rows[issue.id] = JiraIssueAssignment(
            issue_id=issue.id,
            issue_key=issue.key[:64],
            employee_id=employee_id,
            project_id=ctx.projects.get(issue.project_key.upper()),
            assignee_account_id=(issue.assignee_account_id or "")[:128],
            status=issue.status[:64],
            is_active=active,
            jira_updated_at=issue.updated,
        )
    stored = {
        issue_id: state
        for issue_id, *state in JiraIssueAssignment.objects.filter(issue_id__in=list(rows)).values_list(
            "issue_id",
            "issue_key",
            "employee_id",
            "project_id",
            "assignee_account_id",
            "status",
            "is_active",
            "jira_updated_at",
        )
    }
    changed = [row for row in rows.values() if stored.get(row.issue_id) != list(_assignment_state(row))]
    if changed:
        JiraIssueAssignment.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["issue_id"],
            update_fields=ASSIGNMENT_UPDATE_FIELDS,
        )
        ctx.totals.issues_upserted += len(changed)
        ctx.totals.issues_inactive += sum(1 for row in changed if not row.is_active)
    return len(changed)


def _relink(ctx: SyncContext) -> None:
    """Attach stored rows to employees and projects mapped since they were synced (e.g. an account id added)."""
    by_account = (
        Employee.objects.exclude(jira_account_id="")
        .filter(jira_account_id=OuterRef("author_account_id"))
        .order_by("-active", "created_at")
        .values("id")[:1]
    )
    by_assignee = (
        Employee.objects.exclude(jira_account_id="")
        .filter(jira_account_id=OuterRef("assignee_account_id"))
        .order_by("-active", "created_at")
        .values("id")[:1]
    )
    worklogs, assignments, projects = (
        JiraWorkLog._meta.db_table,
        JiraIssueAssignment._meta.db_table,
        Project._meta.db_table,
    )
    with transaction.atomic():
        lease_guard(ctx.lease)
        relinked = (
            JiraWorkLog.objects.filter(employee__isnull=True)
            .exclude(author_account_id="")
            .filter(Exists(by_account))
            .update(employee_id=Subquery(by_account))
        )
        relinked += (
            JiraIssueAssignment.objects.filter(employee__isnull=True)
            .exclude(assignee_account_id="")
            .filter(Exists(by_assignee))
            .update(employee_id=Subquery(by_assignee))
        )
        with connection.cursor() as cursor:
            for table in (worklogs, assignments):
                cursor.execute(
                    f"UPDATE {table} AS t SET project_id = p.id FROM {projects} AS p "
                    "WHERE t.project_id IS NULL AND p.jira_project_key <> '' "
                    "AND upper(p.jira_project_key) = split_part(t.issue_key, '-', 1)"
                )
                relinked += cursor.rowcount
        if relinked:
            audit_append(actor=JOB_ACTOR, action="jira.sync.relink", object_type="jira_sync", data={"rows": relinked})
    ctx.totals.relinked += relinked


def issues_jql(*, project_keys: tuple[str, ...], since: datetime, time_zone: str) -> str:
    """Bounded JQL for issues updated since `since`, oldest first; the date is written in the account's zone."""
    zone = ZoneDirectory(time_zone or "UTC").fallback
    clauses = [jql_project_clause(project_keys)] if project_keys else []
    clauses.append(f'updated >= "{since.astimezone(zone):%Y-%m-%d %H:%M}"')
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def issues_sync(*, ctx: SyncContext) -> None:
    """Upsert issue assignments changed since the issues cursor; unassigned or done issues become inactive."""
    stored = jira_cursor_get(feed=SyncFeed.ISSUES)
    cursor = datetime.fromisoformat(stored) if stored else None
    now = timezone.now()
    if cursor is None:
        since = now - timedelta(days=INITIAL_LOOKBACK_DAYS)
    else:
        since = cursor - (ISSUES_CURSOR_OVERLAP if ctx.account_time_zone else ISSUES_CURSOR_OVERLAP_UNKNOWN_ZONE)
    jql = issues_jql(project_keys=ctx.project_keys, since=since, time_zone=ctx.account_time_zone)
    for page in ctx.client.issues_search_pages(jql):
        lease_renew(ctx.lease)
        for issue in page.issues:
            ctx.issues.remember(issue)
        newest = max((issue.updated for issue in page.issues if issue.updated is not None), default=None)
        with transaction.atomic():
            lease_guard(ctx.lease)
            changed = _assignments_upsert(ctx, page.issues)
            if newest is not None and (cursor is None or newest > cursor):
                cursor = newest
                _cursor_set(SyncFeed.ISSUES, newest.astimezone(UTC).isoformat())
            if changed:
                audit_append(
                    actor=JOB_ACTOR,
                    action="jira.issues.sync_page",
                    object_type="jira_sync",
                    data={"upserted": changed, "cursor": cursor.isoformat() if cursor else None},
                )
        position = newest.timestamp() if newest is not None else now.timestamp()
        ctx.progress.page(
            phase="issues", fraction=_fraction(position, since.timestamp(), now.timestamp()), totals=ctx.totals
        )


def _worklog_rows(ctx: SyncContext, worklogs: list[Worklog], refs: dict[str, Any]) -> list[JiraWorkLog]:
    rows: dict[str, JiraWorkLog] = {}
    totals = ctx.totals
    for worklog in worklogs:
        if worklog.allocation_id is not None:
            totals.worklogs_written_back += 1
            continue
        ref = refs.get(worklog.issue_id)
        if ref is None:
            totals.worklogs_skipped += 1
            continue
        author = worklog.author
        employee_id = ctx.authors.resolve(author.account_id, author.email)
        if employee_id is None:
            totals.worklogs_unmapped += 1
            totals.unmapped_authors.add(author.account_id or author.email or "(no account id)")
        project_id = ctx.projects.get(ref.project_key.upper())
        if project_id is None:
            totals.worklogs_without_project += 1
        rows[worklog.id] = JiraWorkLog(
            jira_worklog_id=worklog.id,
            issue_id=worklog.issue_id,
            issue_key=ref.key[:64],
            project_id=project_id,
            employee_id=employee_id,
            author_account_id=author.account_id[:128],
            started_at=worklog.started,
            # The hours count for the author's own calendar day, not the server's or the tenant's.
            work_date=worklog.started.astimezone(ctx.zones.get(author.time_zone)).date(),
            seconds=max(0, worklog.seconds),
        )
    return list(rows.values())


def worklogs_sync(*, ctx: SyncContext) -> None:
    """Apply Jira's work-log change feeds: upsert the updated ones, then delete the deleted ones."""
    if _cursor_ms(SyncFeed.WORKLOGS_DELETED) is None:
        # Pin where deletions are read from before reading any work log, so a first sync that fails half-way
        # still applies the deletions of everything it committed.
        with transaction.atomic():
            lease_guard(ctx.lease)
            _cursor_set(SyncFeed.WORKLOGS_DELETED, str(ctx.started_ms - DELETED_FEED_START_MARGIN_MS))
    since = _cursor_ms(SyncFeed.WORKLOGS_UPDATED) or ctx.started_ms - INITIAL_LOOKBACK_DAYS * 86_400_000
    for page in ctx.client.worklogs_updated(since):
        lease_renew(ctx.lease)
        worklogs = ctx.client.worklogs_by_ids([change.worklog_id for change in page.changes]) if page.changes else []
        refs, fetched = ctx.issues.resolve({worklog.issue_id for worklog in worklogs}, ctx.client)
        ctx.totals.issue_lookups += len(fetched)
        rows = _worklog_rows(ctx, worklogs, refs)
        with transaction.atomic():
            lease_guard(ctx.lease)
            looked_up = _assignments_upsert(ctx, fetched) if fetched else 0
            if rows:
                JiraWorkLog.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["jira_worklog_id"], update_fields=WORKLOG_UPDATE_FIELDS
                )
            if rows or looked_up:
                audit_append(
                    actor=JOB_ACTOR,
                    action="jira.worklogs.sync_page",
                    object_type="jira_sync",
                    data={"upserted": len(rows), "issues_looked_up": looked_up, "until_ms": page.until_ms},
                )
            _cursor_set(SyncFeed.WORKLOGS_UPDATED, str(max(page.until_ms, since)))
        ctx.totals.worklogs_upserted += len(rows)
        ctx.progress.page(
            phase="worklogs_updated",
            fraction=_fraction(page.until_ms, since, ctx.started_ms - 60_000),
            totals=ctx.totals,
        )
    deleted_since = _cursor_ms(SyncFeed.WORKLOGS_DELETED) or 0
    for page in ctx.client.worklogs_deleted(deleted_since):
        lease_renew(ctx.lease)
        ids = [change.worklog_id for change in page.changes]
        with transaction.atomic():
            lease_guard(ctx.lease)
            deleted = JiraWorkLog.objects.filter(jira_worklog_id__in=ids).delete()[0] if ids else 0
            if deleted:
                audit_append(
                    actor=JOB_ACTOR,
                    action="jira.worklogs.delete_page",
                    object_type="jira_sync",
                    data={"deleted": deleted, "until_ms": page.until_ms},
                )
            _cursor_set(SyncFeed.WORKLOGS_DELETED, str(max(page.until_ms, deleted_since)))
        ctx.totals.worklogs_deleted += deleted
        ctx.progress.page(
            phase="worklogs_deleted",
            fraction=_fraction(page.until_ms, deleted_since, ctx.started_ms - 60_000),
            totals=ctx.totals,
        )


def allocations_write_back(*, ctx: SyncContext, since: date) -> None:
    """Two-way sync: write accepted allocations since `since` back to Jira (jira_sync/writeback.py)."""
    totals = WritebackTotals()

    def on_page(fraction: float) -> None:
        ctx.totals.writeback = totals.as_result()
        ctx.progress.page(phase="write_back", fraction=fraction, totals=ctx.totals)

    try:
        worklogs_write_back(
            client=ctx.client,
            lease=ctx.lease,
            actor=JOB_ACTOR,
            since=since,
            zone=ctx.zones.fallback,
            totals=totals,
            on_page=on_page,
        )
    finally:
        ctx.totals.writeback = totals.as_result()


def _connection_record(*, connection_id: uuid.UUID, outcome: JobOutcome) -> None:
    """The sync's outcome on the connection (last sync, last success, summary), in the job's finishing transaction."""
    now = timezone.now()
    summary = {
        "status": outcome.status,
        "job_id": str(outcome.job_id),
        "finished_at": now.isoformat(),
        "error": outcome.error,
        **outcome.result,
    }
    updates: dict[str, Any] = {"last_sync_at": now, "last_result": summary}
    if outcome.succeeded:
        updates["last_success_at"] = now
    JiraConnection.objects.filter(id=connection_id).update(**updates)


def _sync(run: JobRun, row: JiraConnection, totals: SyncTotals, on_progress: ProgressCallback | None) -> dict[str, Any]:
    with jira_client_for(site_url=row.site_url, email=row.email, api_token=str(row.api_token)) as client:
        project_keys = tuple(project_keys_clean(row.project_keys or []))
        ctx = SyncContext(
            client=client,
            lease=run.lease,
            project_keys=project_keys,
            account_time_zone=row.account_time_zone,
            started_ms=int(time.time() * 1000),
            authors=AuthorDirectory(),
            zones=ZoneDirectory(tenant_time_zone()),
            issues=IssueDirectory(project_keys),
            projects=projects_by_key(),
            totals=totals,
            progress=SyncProgress(run.job.id, on_progress, write_back=row.write_back_enabled),
        )
        _relink(ctx)
        issues_sync(ctx=ctx)
        worklogs_sync(ctx=ctx)
        if row.write_back_enabled and row.write_back_since is not None:
            allocations_write_back(ctx=ctx, since=row.write_back_since)
    run.progress(processed=totals.pages, total=totals.pages)
    return totals.as_result()


def jira_sync_run(*, job_id: uuid.UUID, on_progress: ProgressCallback | None = None) -> BackgroundJob | None:
    """Run a queued `jira_sync` job to completion or failure (jobs/runner.py); returns the job as it ended
    (None if not claimable)."""
    row = jira_connection_get()
    totals = SyncTotals()

    def enabled() -> None:
        if row is None or not row.enabled:
            raise ApplicationError("There is no enabled Jira connection for this tenant.")

    def work(run: JobRun) -> dict[str, Any]:
        assert row is not None  # checked by `enabled` before the work starts
        return _sync(run, row, totals, on_progress)

    def on_finish(outcome: JobOutcome) -> None:
        if row is not None:
            _connection_record(connection_id=row.id, outcome=outcome)

    try:
        return job_run(
            job_id=job_id,
            job_type=JOB_TYPE,
            actor=JOB_ACTOR,
            audit_action="jira.sync",
            lease=LEASE_NAME,
            lease_ttl_seconds=LEASE_TTL_SECONDS,
            precondition=enabled,
            work=work,
            expected_errors=(JiraError,),
            partial_result=totals.as_result,
            on_finish=on_finish,
        )
    finally:
        if totals.changed:
            # Work logs and assignments are evidence for suggestions: what was cached was built without these.
            suggestions_cache_invalidate()
