"""Two-way sync, a step of the sync job: accepted allocations written back to Jira as work logs, exactly once.

For each allocation dated on or after the connection's `write_back_since`, Jira should hold one work log for
the hours Jira does not already know about: the allocated hours minus what the employee logged on that
project that day. The work log goes on the employee's open issue in the project (else the issue they last
logged on there); it carries the entity property `hrms.allocation` = {"allocation_id": ...}.

Exactly once: a `JiraWorklogWriteback` row is committed as `pending` before the create request is sent, and
the answer is committed after. A row still pending on the next run (the worker died, or the answer was
lost) is resolved by reading the issue's work logs for the property: found, it is adopted and updated;
absent, it is created. Updates set absolute values and deletions of a missing work log count as done, so
repeating either is harmless. See docs/jira.md.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from audit.services import Actor, audit_append
from jira_sync.client import JiraAuthError, JiraClient, JiraError, JiraUnavailable, Worklog, WorklogEntry
from jira_sync.models import JiraIssueAssignment, JiraWorkLog, JiraWorklogWriteback
from locks.services import Lease, lease_guard, lease_renew
from timesheets.models import TimesheetProjectAllocation

logger = logging.getLogger(__name__)

WRITEBACK_BATCH = 50
# A written-back work log starts at this local time of the allocation's day (in the tenant's zone).
START_TIME = time(9, 0)
# Jira refuses work logs under a minute.
MIN_SECONDS = 60
RECORD_UPDATE_FIELDS = ["issue_id", "issue_key", "jira_worklog_id", "work_date", "seconds", "pending", "error"]

PageCallback = Callable[[float], None]


@dataclass
class WritebackTotals:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    # Pending from an earlier run whose outcome was unknown, resolved by reading the issue's work logs.
    recovered: int = 0
    unchanged: int = 0
    # Allocations with hours to write but no issue of the employee in that project to write them on.
    without_issue: int = 0
    # Refused by Jira (4xx); the message is kept on the row and the next run tries again.
    refused: int = 0

    def as_result(self) -> dict[str, int]:
        return {f"writeback_{name}": value for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class _Wanted:
    allocation_id: uuid.UUID
    employee_id: uuid.UUID
    project_id: uuid.UUID
    work_date: date
    seconds: int
    comment: str


@dataclass
class _Action:
    kind: str  # create | recover | update | delete | drop
    record: JiraWorklogWriteback
    wanted: _Wanted | None


def _seconds(hours: Decimal) -> int:
    """Whole minutes, the unit Jira keeps work logs in."""
    return int(hours * 3600) // 60 * 60


def _wanted(since: date) -> dict[uuid.UUID, _Wanted]:
    """What Jira should hold per allocation: the hours not already logged there by the employee."""
    logged: dict[tuple[uuid.UUID, uuid.UUID, date], int] = {
        (row["employee_id"], row["project_id"], row["work_date"]): int(row["total"])
        for row in JiraWorkLog.objects.filter(work_date__gte=since, employee__isnull=False, project__isnull=False)
        .values("employee_id", "project_id", "work_date")
        .annotate(total=Sum("seconds"))
        .order_by()
    }
    wanted: dict[uuid.UUID, _Wanted] = {}
    allocations = (
        TimesheetProjectAllocation.objects.filter(date__gte=since)
        .values_list("id", "employee_id", "project_id", "date", "hours", "employee__name", "project__code")
        .order_by("date", "id")
    )
    for allocation_id, employee_id, project_id, day, hours, name, code in allocations.iterator(chunk_size=5000):
        seconds = max(0, _seconds(hours or Decimal(0)) - logged.get((employee_id, project_id, day), 0))
        wanted[allocation_id] = _Wanted(
            allocation_id=allocation_id,
            employee_id=employee_id,
            project_id=project_id,
            work_date=day,
            seconds=seconds if seconds >= MIN_SECONDS else 0,
            comment=f"{name}: {hours} h on {code} ({day}), accepted timesheet allocation (HRMS).",
        )
    return wanted


def _issues_for(pairs: set[tuple[uuid.UUID, uuid.UUID]]) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str]]:
    """(employee, project) -> (issue id, key): the open assignment updated last, else the issue logged on last."""
    if not pairs:
        return {}
    employees = {employee for employee, _ in pairs}
    found: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str]] = {}
    assignments = (
        JiraIssueAssignment.objects.filter(employee_id__in=employees, is_active=True, project__isnull=False)
        .order_by("employee_id", "project_id", "-jira_updated_at", "issue_key")
        .distinct("employee_id", "project_id")
        .values_list("employee_id", "project_id", "issue_id", "issue_key")
    )
    for employee_id, project_id, issue_id, issue_key in assignments:
        if employee_id is not None and project_id is not None:
            found[(employee_id, project_id)] = (issue_id, issue_key)
    logs = (
        JiraWorkLog.objects.filter(employee_id__in=employees, project__isnull=False)
        .order_by("employee_id", "project_id", "-started_at")
        .distinct("employee_id", "project_id")
        .values_list("employee_id", "project_id", "issue_id", "issue_key")
    )
    for employee_id, project_id, issue_id, issue_key in logs:
        if employee_id is not None and project_id is not None:
            found.setdefault((employee_id, project_id), (issue_id, issue_key))
    return {pair: found[pair] for pair in pairs if pair in found}


def _plan(since: date, totals: WritebackTotals) -> list[_Action]:
    wanted = _wanted(since)
    records = {record.allocation_id: record for record in JiraWorklogWriteback.objects.filter(work_date__gte=since)}
    new = [want for aid, want in wanted.items() if aid not in records and want.seconds]
    issues = _issues_for({(want.employee_id, want.project_id) for want in new})
    actions: list[_Action] = []
    for want in new:
        issue = issues.get((want.employee_id, want.project_id))
        if issue is None:
            totals.without_issue += 1
            continue
        record = JiraWorklogWriteback(
            allocation_id=want.allocation_id, issue_id=issue[0], issue_key=issue[1], work_date=want.work_date
        )
        actions.append(_Action("create", record, want))
    for aid, record in records.items():
        current = wanted.get(aid)
        seconds = current.seconds if current is not None else 0
        if record.pending and not record.jira_worklog_id:
            actions.append(_Action("recover", record, current))
        elif record.jira_worklog_id:
            if not seconds:
                actions.append(_Action("delete", record, current))
            elif current is not None and (record.seconds != seconds or record.work_date != current.work_date):
                actions.append(_Action("update", record, current))
            else:
                totals.unchanged += 1
        elif seconds:
            actions.append(_Action("create", record, current))  # refused by Jira last time: try again
        else:
            actions.append(_Action("drop", record, current))
    actions.sort(key=lambda action: (action.record.work_date, str(action.record.allocation_id)))
    return actions


def _entry(want: _Wanted, zone: tzinfo) -> WorklogEntry:
    return WorklogEntry(
        allocation_id=str(want.allocation_id),
        started=datetime.combine(want.work_date, START_TIME, tzinfo=zone),
        seconds=want.seconds,
        comment=want.comment,
    )


class _Batch:
    """Carries out one batch of actions against Jira, recording on each row what Jira now holds."""

    def __init__(self, client: JiraClient, zone: tzinfo, totals: WritebackTotals) -> None:
        self.client = client
        self.zone = zone
        self.totals = totals
        self.changed: list[JiraWorklogWriteback] = []
        self.removed: list[uuid.UUID] = []

    def _holds(self, record: JiraWorklogWriteback, worklog: Worklog, want: _Wanted) -> None:
        record.jira_worklog_id = worklog.id
        record.seconds = worklog.seconds
        record.work_date = want.work_date
        record.pending = False
        record.error = ""
        self.changed.append(record)

    def _create(self, record: JiraWorklogWriteback, want: _Wanted) -> None:
        try:
            worklog = self.client.worklog_create(record.issue_key, _entry(want, self.zone))
        except (JiraUnavailable, JiraAuthError):
            raise  # the outcome is unknown (or nothing more can be done): the row stays pending
        except JiraError as exc:
            record.pending = False
            record.error = exc.message[:1000]
            self.changed.append(record)
            self.totals.refused += 1
            return
        self._holds(record, worklog, want)
        self.totals.created += 1

    def _update(self, record: JiraWorklogWriteback, want: _Wanted) -> None:
        try:
            worklog = self.client.worklog_update(record.issue_key, record.jira_worklog_id, _entry(want, self.zone))
        except JiraError as exc:
            if exc.status != 404 or isinstance(exc, JiraUnavailable):
                raise
            # Deleted in Jira meanwhile: the accepted allocation is what counts, so it is written again.
            record.jira_worklog_id = ""
            self._create(record, want)
            return
        self._holds(record, worklog, want)
        self.totals.updated += 1

    def _delete(self, record: JiraWorklogWriteback) -> None:
        self.client.worklog_delete(record.issue_key, record.jira_worklog_id)
        self.removed.append(record.allocation_id)
        self.totals.deleted += 1

    def run(self, action: _Action) -> None:
        record, want = action.record, action.wanted
        seconds = want.seconds if want is not None else 0
        if action.kind == "recover":
            found = self.client.worklog_find_by_allocation(record.issue_key, str(record.allocation_id))
            self.totals.recovered += 1
            if found is None:
                if want is not None and seconds:
                    self._create(record, want)
                else:
                    self.removed.append(record.allocation_id)
                return
            record.jira_worklog_id, record.seconds, record.pending = found.id, found.seconds, False
            self.changed.append(record)
            if want is None or not seconds:
                self._delete(record)
            elif found.seconds != seconds or found.started.astimezone(self.zone).date() != want.work_date:
                self._update(record, want)
            return
        if action.kind == "create" and want is not None:
            self._create(record, want)
        elif action.kind == "update" and want is not None:
            self._update(record, want)
        elif action.kind == "delete":
            self._delete(record)
        elif action.kind == "drop":
            self.removed.append(record.allocation_id)


def _intent(actor: Actor, lease: Lease, actions: Iterable[_Action]) -> None:
    """Commit `pending` for the rows about to be created (or recovered) before any request is sent."""
    rows = [action.record for action in actions if action.kind in ("create", "recover")]
    if not rows:
        return
    for row in rows:
        row.pending = True
    with transaction.atomic():
        lease_guard(lease)
        JiraWorklogWriteback.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["allocation_id"],
            update_fields=["issue_id", "issue_key", "work_date", "pending"],
        )
        audit_append(actor=actor, action="jira.writeback.intent", object_type="jira_sync", data={"rows": len(rows)})


def _record(actor: Actor, lease: Lease, batch: _Batch) -> None:
    if not batch.changed and not batch.removed:
        return
    removed = set(batch.removed)
    changed = list({row.allocation_id: row for row in batch.changed if row.allocation_id not in removed}.values())
    with transaction.atomic():
        lease_guard(lease)
        if changed:
            JiraWorklogWriteback.objects.bulk_create(
                changed, update_conflicts=True, unique_fields=["allocation_id"], update_fields=RECORD_UPDATE_FIELDS
            )
        if removed:
            JiraWorklogWriteback.objects.filter(allocation_id__in=removed).delete()
        audit_append(
            actor=actor,
            action="jira.writeback.page",
            object_type="jira_sync",
            data={"written": len(changed), "removed": len(removed)},
        )


def worklogs_write_back(
    *,
    client: JiraClient,
    lease: Lease,
    actor: Actor,
    since: date,
    zone: tzinfo,
    totals: WritebackTotals,
    on_page: PageCallback,
) -> None:
    """Bring Jira's written-back work logs in line with the accepted allocations since `since`; counts in `totals`."""
    actions = _plan(since, totals)
    for start in range(0, len(actions), WRITEBACK_BATCH):
        chunk = actions[start : start + WRITEBACK_BATCH]
        lease_renew(lease)
        _intent(actor, lease, chunk)
        batch = _Batch(client, zone, totals)
        try:
            for action in chunk:
                batch.run(action)
        finally:
            # What Jira confirmed is recorded even when a later request of the batch failed.
            _record(actor, lease, batch)
        on_page(min(1.0, (start + len(chunk)) / len(actions)))
