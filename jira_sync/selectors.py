"""Reads of Jira records: the tenant's connection and cursors, synced work logs, and which tenants are due a sync."""

# ruff: noqa: S608 - schema and table names are quoted identifiers from the catalogue; values are bound parameters.
from __future__ import annotations

import uuid
import zlib
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from jira_sync.models import JiraConnection, JiraSyncCursor, JiraWorkLog
from jobs.models import ACTIVE_STATUSES, BackgroundJob
from tenants.models import Tenant, TenantStatus
from timesheets.models import PayPeriod, PayPeriodStatus, TimesheetProjectAllocation

_DUE_BATCH = 200


def jira_connection_get() -> JiraConnection | None:
    """The tenant's connection (there is at most one), or None."""
    return JiraConnection.objects.filter(singleton=True).first()


def jira_cursor_get(*, feed: str) -> str | None:
    return JiraSyncCursor.objects.filter(feed=feed).values_list("value", flat=True).first()


def worklog_list(
    *,
    employee_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[JiraWorkLog]:
    """Synced work logs, newest day first, with the employee's name and project code in the same query.

    `was_converted`: the employee has an allocation on the log's project and day, so its hours are in the
    timesheet. Read from the allocations (one index probe per row) rather than stored, so it is true however
    the allocation came (accepted, auto-accepted, imported) and needs no write to Jira's table when it does.
    """
    logs = JiraWorkLog.objects.select_related("employee", "project").only(
        "id",
        "jira_worklog_id",
        "issue_id",
        "issue_key",
        "author_account_id",
        "started_at",
        "work_date",
        "seconds",
        "synced_at",
        "employee__id",
        "employee__name",
        "project__id",
        "project__code",
    )
    logs = logs.annotate(
        was_converted=Exists(
            TimesheetProjectAllocation.objects.filter(
                employee_id=OuterRef("employee_id"), project_id=OuterRef("project_id"), date=OuterRef("work_date")
            )
        ),
        # A log for a day of a closed pay period is stored like any other, but the timesheet cannot take it
        # any more: flagged for HR (the period's allocations stay as they were closed).
        in_closed_period=Exists(
            PayPeriod.objects.filter(
                status=PayPeriodStatus.CLOSED,
                start_date__lte=OuterRef("work_date"),
                end_date__gte=OuterRef("work_date"),
            )
        ),
    )
    if employee_id is not None:
        logs = logs.filter(employee_id=employee_id)
    if project_id is not None:
        logs = logs.filter(project_id=project_id)
    if date_from is not None:
        logs = logs.filter(work_date__gte=date_from)
    if date_to is not None:
        logs = logs.filter(work_date__lte=date_to)
    return logs.order_by("-work_date", "-started_at", "-id")


def sync_is_due(*, schema: str, last_sync_at: datetime | None, interval_minutes: int, now: datetime) -> bool:
    """Due when the interval has passed since the last attempt.

    A tenant that never synced starts in its own minute slot (a stable hash of the schema modulo the
    interval), so a thousand tenants configured on the same day do not all start in the same minute; after
    that, each keeps the phase of its own previous run.
    """
    interval = max(1, interval_minutes)
    if last_sync_at is None:
        minute = int(now.timestamp() // 60)
        return zlib.crc32(schema.encode()) % interval == minute % interval
    return now >= last_sync_at + timedelta(minutes=interval)


def jira_sync_due_schemas(*, now: datetime, job_type: str) -> list[str]:
    """Schemas of active tenants with an enabled connection that are due a sync and have none running.

    Runs in the public schema with one catalogue query plus one UNION query per 200 tenants, instead of
    switching into every tenant every minute.
    """
    schemas = list(
        Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(status=TenantStatus.ACTIVE)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    if not schemas:
        return []
    connections_table = JiraConnection._meta.db_table
    jobs_table = BackgroundJob._meta.db_table
    with connection.cursor() as cursor:
        # Tenants still behind the migration that adds the connection table are skipped, not errors.
        cursor.execute(
            "SELECT schemaname FROM pg_catalog.pg_tables WHERE tablename = %s AND schemaname = ANY(%s)",
            [connections_table, schemas],
        )
        ready = sorted(row[0] for row in cursor.fetchall())
    due: list[str] = []
    active = [str(status) for status in ACTIVE_STATUSES]
    for start in range(0, len(ready), _DUE_BATCH):
        batch = ready[start : start + _DUE_BATCH]
        parts: list[str] = []
        params: list[Any] = []
        for schema in batch:
            quoted = connection.ops.quote_name(schema)
            parts.append(
                f"SELECT %s, c.last_sync_at, c.sync_interval_minutes, EXISTS (SELECT 1 FROM {quoted}.{jobs_table} j "
                f"WHERE j.job_type = %s AND j.status = ANY(%s)) FROM {quoted}.{connections_table} c WHERE c.enabled"
            )
            params.extend([schema, job_type, active])
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            rows = cursor.fetchall()
        for schema, last_sync_at, interval, running in rows:
            if not running and sync_is_due(
                schema=schema, last_sync_at=last_sync_at, interval_minutes=interval, now=now
            ):
                due.append(schema)
    return due
