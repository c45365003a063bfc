"""Accepting every confident suggestion that matches a filter in one server-side action, and undoing it.

The selection is the review list's own query (the same filters, the same scope), cut at a minimum confidence.
Accepting runs as one statement: it writes an allocation for each chosen suggestion whose employee, project and
day have none yet (a day somebody already filled in is left to them, and its suggestion stays pending) and marks
exactly those suggestions accepted under one batch (the batch, not each row, records who accepted). Undo reverts
the batch: allocations still as accepted are deleted and their suggestions pending again; an allocation edited
since is kept, and so is its suggestion.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.services import ActorLike, acting_user, audit_append
from core.errors import Conflict, NotFound, database_error_translate
from timesheets.lifecycle import weeks_frozen_check
from timesheets.models import (
    AcceptanceBatch,
    PayPeriod,
    ProjectAllocationSuggestion,
    TimesheetProjectAllocation,
    TimesheetWeek,
)
from timesheets.selectors import suggestion_pending_list, tenant_today
from timesheets.services.pending import suggestions_cache_invalidate

_SUGGESTIONS = ProjectAllocationSuggestion._meta.db_table
_ALLOCATIONS = TimesheetProjectAllocation._meta.db_table
# A day in a closed pay period or in an approved week is not the bulk's to change: its suggestion stays pending.
_OPEN_DAY = f"""
    NOT EXISTS (SELECT 1 FROM {PayPeriod._meta.db_table} p
                 WHERE p.status = 'closed' AND s.date BETWEEN p.start_date AND p.end_date)
    AND NOT EXISTS (SELECT 1 FROM {TimesheetWeek._meta.db_table} w
                     WHERE w.employee_id = s.employee_id AND w.status = 'approved'
                       AND w.week_start = s.date - (extract(isodow FROM s.date)::int - 1))
"""  # noqa: S608 - table names from the models


@dataclass(frozen=True)
class ConfidentCriteria:
    """Which pending suggestions a confident accept takes: the review filters and a minimum confidence."""

    min_confidence: Decimal
    employee_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_json(self) -> dict[str, Any]:
        return {name: None if value is None else str(value) for name, value in asdict(self).items()}


@dataclass(frozen=True)
class ConfidentSummary:
    count: int
    hours: Decimal
    employees: int


@dataclass(frozen=True)
class UndoResult:
    batch_id: uuid.UUID
    reverted: int
    kept: int


def _execute(cursor: Any, sql: str, params: Any) -> None:
    """Run a statement; a refusal by the pay-period trigger becomes its application error (409 period_locked)."""
    try:
        cursor.execute(sql, params)
    except DatabaseError as exc:
        translated = database_error_translate(exc)
        if translated is None:
            raise
        raise translated from exc


def _chosen_sql(
    *, user: Any, criteria: ConfidentCriteria, today: date, columns: tuple[str, ...] = ("id",)
) -> tuple[str, tuple[Any, ...]]:
    """SQL selecting the pending suggestions the criteria take, as the reader may see them (their ids, or these
    columns)."""
    chosen = suggestion_pending_list(
        user=user,
        employee_id=criteria.employee_id,
        project_id=criteria.project_id,
        date_from=criteria.date_from,
        date_to=criteria.date_to,
        today=today,
        named=False,
    ).filter(confidence__gte=criteria.min_confidence)
    sql, params = chosen.order_by().values(*columns).query.sql_with_params()
    return sql, tuple(params)


def suggestions_confident_summary(*, user: Any, criteria: ConfidentCriteria) -> ConfidentSummary:
    """How many suggestions, hours and people a confident accept with these criteria would take now."""
    # The chosen rows themselves, with the columns the count needs (not their ids joined back to the table).
    sql, params = _chosen_sql(
        user=user, criteria=criteria, today=tenant_today(), columns=("employee_id", "project_id", "date", "hours")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT coalesce(sum(rows), 0), coalesce(sum(hours), 0), count(*)
              FROM (SELECT count(*) AS rows, sum(s.hours) AS hours  -- per person: hashed, not sorted
                      FROM ({sql}) s
                     WHERE {_OPEN_DAY}
                       AND NOT EXISTS (SELECT 1 FROM {_ALLOCATIONS} a
                                        WHERE a.employee_id = s.employee_id AND a.project_id = s.project_id
                                          AND a.date = s.date)
                     GROUP BY s.employee_id) people
            """,  # noqa: S608 - table names from the models, the subquery from the ORM with its parameters
            params,
        )
        count, hours, employees = cursor.fetchone()
    return ConfidentSummary(count=int(count), hours=Decimal(hours).quantize(Decimal("0.01")), employees=int(employees))


@transaction.atomic
def suggestions_accept_confident(*, actor: ActorLike, criteria: ConfidentCriteria) -> AcceptanceBatch:
    """Accept every pending suggestion the criteria take, in one statement, as one undoable batch."""
    user = acting_user(actor)
    batch = AcceptanceBatch.objects.create(created_by=user, criteria=criteria.as_json())
    sql, params = _chosen_sql(user=actor, criteria=criteria, today=tenant_today())
    with connection.cursor() as cursor:
        # The update comes first and takes each row lock itself, re-reading the row it waited for (a suggestion
        # rejected meanwhile is no longer pending and is left alone); no separate locking pass rewrites the rows.
        # The allocations go in in the order of their unique index. Who accepted is the batch's: the rows carry
        # only the batch id (no per-row user to check at commit, no entry in the decided-by index).
        _execute(
            cursor,
            f"""
            WITH accepted AS (
                UPDATE {_SUGGESTIONS} s
                   SET status = 'accepted', accepted_hours = s.hours, decided_at = now(), batch_id = %s
                 WHERE s.id IN ({sql}) AND s.status = 'pending' AND {_OPEN_DAY}
                   AND NOT EXISTS (SELECT 1 FROM {_ALLOCATIONS} a
                                    WHERE a.employee_id = s.employee_id AND a.project_id = s.project_id
                                      AND a.date = s.date)
                RETURNING s.id, s.employee_id, s.project_id, s.date, s.hours
            ), written AS (
                INSERT INTO {_ALLOCATIONS}
                       (id, employee_id, project_id, date, hours, suggestion_id, suggestion_accepted,
                        created_at, updated_at)
                SELECT gen_random_uuid(), c.employee_id, c.project_id, c.date, c.hours, c.id, true, now(), now()
                  FROM accepted c
                 ORDER BY c.employee_id, c.date, c.project_id
                ON CONFLICT (employee_id, project_id, date) DO NOTHING
                RETURNING hours
            )
            SELECT (SELECT count(*) FROM accepted), count(*), coalesce(sum(hours), 0) FROM written
            """,  # noqa: S608 - table names from the models, the subquery from the ORM with its parameters
            (batch.id, *params),
        )
        marked, accepted, hours = cursor.fetchone()
        if marked != accepted:
            # A day filled in by somebody else after this statement's snapshot: its suggestion stays pending.
            _execute(
                cursor,
                f"""
                UPDATE {_SUGGESTIONS} s
                   SET status = 'pending', accepted_hours = NULL, decided_at = NULL, batch_id = NULL
                 WHERE s.batch_id = %s
                   AND NOT EXISTS (SELECT 1 FROM {_ALLOCATIONS} a WHERE a.suggestion_id = s.id)
                """,  # noqa: S608 - table names from the models
                (batch.id,),
            )
    batch.accepted = int(accepted)
    batch.hours = Decimal(hours).quantize(Decimal("0.01"))
    batch.save(update_fields=["accepted", "hours"])
    audit_append(
        actor=actor,
        action="suggestions.accept_confident",
        object_type="acceptance_batch",
        object_id=str(batch.id),
        data={"criteria": batch.criteria, "accepted": batch.accepted, "hours": str(batch.hours)},
    )
    if batch.accepted:
        suggestions_cache_invalidate()
    return batch


def acceptance_batch_get(*, batch_id: uuid.UUID) -> AcceptanceBatch:
    batch = AcceptanceBatch.objects.filter(id=batch_id).first()
    if batch is None:
        raise NotFound("No such acceptance.")
    return batch


@transaction.atomic
def acceptance_batch_undo(*, actor: ActorLike, batch_id: uuid.UUID) -> UndoResult:
    """Put a confident accept back: its unchanged allocations go, their suggestions are pending again.

    An allocation whose hours were changed after the accept is a person's correction: it stays, and so does its
    suggestion's acceptance (counted as `kept`). A second undo of the same batch is a 409.
    """
    batch = AcceptanceBatch.objects.select_for_update().filter(id=batch_id).first()
    if batch is None:
        raise NotFound("No such acceptance.")
    if batch.undone_at is not None:
        raise Conflict("This acceptance was already undone.", extra={"batch_id": str(batch.id)})
    # An approved week is frozen until reopened; a closed pay period is refused by the database trigger itself.
    weeks_frozen_check(
        ProjectAllocationSuggestion.objects.filter(batch=batch, status="accepted").values_list("employee_id", "date")
    )
    with connection.cursor() as cursor:
        _execute(
            cursor,
            f"""
            WITH members AS (
                SELECT s.id FROM {_SUGGESTIONS} s WHERE s.batch_id = %s AND s.status = 'accepted' FOR UPDATE OF s
            ), removed AS (
                DELETE FROM {_ALLOCATIONS} a
                 USING {_SUGGESTIONS} s
                 WHERE a.suggestion_id = s.id AND s.id IN (SELECT id FROM members)
                   AND a.suggestion_accepted AND a.hours = s.accepted_hours
                   AND NOT EXISTS (SELECT 1 FROM {_SUGGESTIONS} p
                                    WHERE p.status = 'pending' AND p.employee_id = s.employee_id
                                      AND p.project_id = s.project_id AND p.date = s.date)
                RETURNING a.suggestion_id
            ), reverted AS (
                UPDATE {_SUGGESTIONS} s
                   SET status = 'pending', accepted_hours = NULL, decided_by_id = NULL, decided_at = NULL,
                       batch_id = NULL
                  FROM removed r
                 WHERE s.id = r.suggestion_id
                RETURNING s.id
            )
            SELECT (SELECT count(*) FROM reverted), (SELECT count(*) FROM members)
            """,  # noqa: S608 - table names from the models
            (batch.id,),
        )
        reverted, members = cursor.fetchone()
    user = acting_user(actor)
    batch.undone_at = timezone.now()
    batch.undone_by = user
    batch.reverted = int(reverted)
    batch.kept = int(members) - int(reverted)
    batch.save(update_fields=["undone_at", "undone_by", "reverted", "kept"])
    audit_append(
        actor=actor,
        action="suggestions.undo_accept_confident",
        object_type="acceptance_batch",
        object_id=str(batch.id),
        data={"reverted": batch.reverted, "kept": batch.kept},
    )
    suggestions_cache_invalidate()
    return UndoResult(batch_id=batch.id, reverted=batch.reverted, kept=batch.kept)
