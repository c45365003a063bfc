"""Writes to timesheet records: employees, projects, attendance, allocation imports and work patterns.

Every service is atomic and bulk: a batch of rows is validated whole before anything is written, and then
written with one upsert, never a query per row. Each change appends its audit event in the same
transaction; audit data names fields and counts, never personal values.
"""

# ruff: noqa: S608 - table names come from model metadata; every value is a bound parameter.
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict, cast

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from audit.services import ActorLike, audit_append
from core.errors import ValidationFailed
from core.schema import current_schema
from tenants.crypto import blind_index, blind_index_candidates
from timesheets.lifecycle import period_lock_check, weeks_frozen_check
from timesheets.models import (
    AttendanceRecord,
    Employee,
    Project,
    TimesheetProjectAllocation,
    WorkPattern,
)
from timesheets.selectors import (
    employee_ids_existing,
    project_ids_existing,
    tenant_zone,
)
from timesheets.services.pending import suggestions_cache_invalidate
from timesheets.signals import attendance_imported

MAX_ATTENDANCE_ROWS = 5_000
MAX_ALLOCATION_ROWS = 5_000
MAX_DAY_HOURS = Decimal(24)
TWO_PLACES = Decimal("0.01")

RowErrors = dict[str, dict[str, list[str]]]

# Unique constraints (and unique indexes) whose violation is the caller's mistake, and the field to blame.
_CONFLICT_FIELDS = {
    "employee_unique_email": ("email", "An employee with this email already exists."),
    "employee_unique_national_id": ("national_id", "An employee with this national id already exists."),
    "timesheets_employee_user_id_key": ("user", "This user is already linked to another employee."),
    "timesheets_project_code_key": ("code", "A project with this code already exists."),
}


def _save_or_conflict(instance: models.Model, **save_kwargs: Any) -> None:
    """Save, turning a unique-constraint race into the same 400 the up-front checks give."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint not in _CONFLICT_FIELDS:
            raise
        name, message = _CONFLICT_FIELDS[constraint]
        raise ValidationFailed("Invalid input.", fields={name: [message]}) from exc


def _clean_optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


# Employees ---------------------------------------------------------------------------------------------------


def _employee_check_unique(
    *, employee_id: uuid.UUID, email: str | None, national_id: str | None, user: User | None
) -> None:
    """Compared through the indexes under every live data key: during a key rotation an existing row may
    still carry the previous key's index, which the unique constraints alone would not see as equal."""
    others = Employee.objects.exclude(id=employee_id)
    errors: dict[str, list[str]] = {}
    if email is not None and others.filter(email_index__in=blind_index_candidates(email, purpose="email")).exists():
        errors["email"] = [_CONFLICT_FIELDS["employee_unique_email"][1]]
    if (
        national_id is not None
        and others.filter(national_id_index__in=blind_index_candidates(national_id, purpose="national_id")).exists()
    ):
        errors["national_id"] = [_CONFLICT_FIELDS["employee_unique_national_id"][1]]
    if user is not None and others.filter(user=user).exists():
        errors["user"] = [_CONFLICT_FIELDS["timesheets_employee_user_id_key"][1]]
    if errors:
        raise ValidationFailed("Invalid input.", fields=errors)


@transaction.atomic
def employee_create(
    *,
    actor: ActorLike,
    name: str,
    email: str,
    jira_account_id: str = "",
    active: bool = True,
    weekly_hours: Decimal = Decimal("40.0"),
    start_date: date | None = None,
    user: User | None = None,
    manager: Employee | None = None,
    national_id: str | None = None,
    bank_account: str | None = None,
    salary: Decimal | None = None,
) -> Employee:
    """Create an employee; email and national id are unique per tenant, checked through their blind indexes."""
    national_id = _clean_optional(national_id)
    employee = Employee(
        name=name.strip(),
        email=email.strip(),
        jira_account_id=jira_account_id.strip(),
        active=active,
        weekly_hours=weekly_hours,
        start_date=start_date,
        user=user,
        manager=manager,
        national_id=national_id,
        bank_account=_clean_optional(bank_account),
        salary=cast(Any, salary),  # the encrypted field's declared type is that of its ciphertext (text)
        email_index=blind_index(email, purpose="email"),
        national_id_index=None if national_id is None else blind_index(national_id, purpose="national_id"),
    )
    _employee_check_unique(employee_id=employee.id, email=email, national_id=national_id, user=user)
    _save_or_conflict(employee, force_insert=True)
    audit_append(
        actor=actor,
        action="employee.create",
        object_type="employee",
        object_id=employee.id,
        data={"pii": sorted(name for name in ("national_id", "bank_account", "salary") if getattr(employee, name))},
    )
    return employee


class EmployeeChanges(TypedDict, total=False):
    """The fields an employee update may change; those left out stay as they are."""

    name: str
    email: str
    jira_account_id: str
    active: bool
    weekly_hours: Decimal
    start_date: date | None
    user: User | None
    manager: Employee | None
    national_id: str | None
    bank_account: str | None
    salary: Decimal | None


def _manager_check(*, employee_id: uuid.UUID, manager: Employee | None) -> None:
    """An employee is not their own manager, directly or up the chain."""
    seen: set[uuid.UUID] = set()
    current = manager
    while current is not None and current.id not in seen:
        if current.id == employee_id:
            raise ValidationFailed(
                "Invalid input.", fields={"manager": ["An employee cannot be their own manager, even indirectly."]}
            )
        seen.add(current.id)
        current = Employee.objects.filter(id=current.manager_id).first() if current.manager_id else None


EMPLOYEE_UPDATABLE = frozenset(EmployeeChanges.__annotations__)


@transaction.atomic
def employee_update(*, actor: ActorLike, employee: Employee, data: EmployeeChanges) -> Employee:
    """Change the given fields only; blind indexes follow email and national id."""
    unknown = set(data) - EMPLOYEE_UPDATABLE
    if unknown:
        raise ValidationFailed("Invalid input.", fields={name: ["Unknown field."] for name in sorted(unknown)})
    changed: set[str] = set()
    for name, value in data.items():
        if name in {"name", "email", "jira_account_id"}:
            value = str(value).strip()
        elif name in {"national_id", "bank_account"}:
            value = _clean_optional(cast(str | None, value))
        setattr(employee, name, value)
        changed.add(name)
    if "email" in changed:
        employee.email_index = blind_index(employee.email, purpose="email")
        changed.add("email_index")
    if "national_id" in changed:
        national_id = employee.national_id
        employee.national_id_index = None if national_id is None else blind_index(national_id, purpose="national_id")
        changed.add("national_id_index")
    if not changed:
        return employee
    if "manager" in changed:
        _manager_check(employee_id=employee.id, manager=employee.manager)
    _employee_check_unique(
        employee_id=employee.id,
        email=employee.email if "email" in changed else None,
        national_id=employee.national_id if "national_id" in changed else None,
        user=employee.user if "user" in changed else None,
    )
    _save_or_conflict(employee, update_fields=[*sorted(changed), "updated_at"])
    audit_append(
        actor=actor,
        action="employee.update",
        object_type="employee",
        object_id=employee.id,
        data={"fields": sorted(changed - {"email_index", "national_id_index"})},
    )
    if changed & {"name", "user", "manager"}:
        suggestions_cache_invalidate()  # pending pages show names and are scoped by the user and manager links
    return employee


PII_FIELDS = ("national_id", "bank_account", "salary")


@transaction.atomic
def employee_pii_reveal(*, actor: ActorLike, employee: Employee, field: str) -> str:
    """One personal value of one employee, shown on purpose: who saw which field of whom is audited."""
    if field not in PII_FIELDS:
        choices = f"One of: {', '.join(PII_FIELDS)}."
        raise ValidationFailed(f"No such personal field. {choices}", fields={"field": [choices]})
    audit_append(
        actor=actor, action="employee.reveal", object_type="employee", object_id=employee.id, data={"field": field}
    )
    value = getattr(employee, field)
    return "—" if value is None or value == "" else str(value)


@transaction.atomic
def employee_delete(*, actor: ActorLike, employee: Employee) -> Employee:
    """Deactivate the employee (soft delete); repeating it is harmless.

    Never a real delete: attendance, allocations and suggestions cascade from the employee, and Jira work logs
    would lose their owner, so a DELETE would silently erase timesheet history payroll depends on. A
    deactivated employee keeps their records, is excluded by `?active=true` and gets no new suggestions.
    """
    if employee.active:
        employee.active = False
        employee.save(update_fields=["active", "updated_at"])
        audit_append(actor=actor, action="employee.deactivate", object_type="employee", object_id=employee.id)
    return employee


# Projects ----------------------------------------------------------------------------------------------------


def _project_check(*, project: Project, check_code: bool) -> None:
    errors: dict[str, list[str]] = {}
    if check_code and Project.objects.exclude(id=project.id).filter(code=project.code).exists():
        errors["code"] = [_CONFLICT_FIELDS["timesheets_project_code_key"][1]]
    if project.starts_on and project.ends_on and project.ends_on < project.starts_on:
        errors["ends_on"] = ["Must not be before starts_on."]
    if errors:
        raise ValidationFailed("Invalid input.", fields=errors)


@transaction.atomic
def project_create(
    *,
    actor: ActorLike,
    code: str,
    name: str,
    jira_project_key: str = "",
    active: bool = True,
    starts_on: date | None = None,
    ends_on: date | None = None,
    client: str = "",
    billable: bool = True,
    budget_hours: Decimal | None = None,
    cost_centre: str = "",
) -> Project:
    project = Project(
        code=code.strip(),
        name=name.strip(),
        jira_project_key=jira_project_key.strip(),
        active=active,
        starts_on=starts_on,
        ends_on=ends_on,
        client=client.strip(),
        billable=billable,
        budget_hours=budget_hours,
        cost_centre=cost_centre.strip(),
    )
    _project_check(project=project, check_code=True)
    _save_or_conflict(project, force_insert=True)
    audit_append(
        actor=actor,
        action="project.create",
        object_type="project",
        object_id=project.id,
        data={"code": project.code, "name": project.name},
    )
    return project


class ProjectChanges(TypedDict, total=False):
    """The fields a project update may change; those left out stay as they are."""

    code: str
    name: str
    jira_project_key: str
    active: bool
    starts_on: date | None
    ends_on: date | None
    client: str
    billable: bool
    budget_hours: Decimal | None
    cost_centre: str


PROJECT_UPDATABLE = frozenset(ProjectChanges.__annotations__)


@transaction.atomic
def project_update(*, actor: ActorLike, project: Project, data: ProjectChanges) -> Project:
    unknown = set(data) - PROJECT_UPDATABLE
    if unknown:
        raise ValidationFailed("Invalid input.", fields={name: ["Unknown field."] for name in sorted(unknown)})
    if not data:
        return project
    for name, value in data.items():
        setattr(project, name, value.strip() if isinstance(value, str) else value)
    _project_check(project=project, check_code="code" in data)
    _save_or_conflict(project, update_fields=[*sorted(data), "updated_at"])
    audit_append(
        actor=actor,
        action="project.update",
        object_type="project",
        object_id=project.id,
        data={name: str(value) if value is not None else None for name, value in sorted(data.items())},
    )
    if "code" in data:
        suggestions_cache_invalidate()  # pending pages show project codes
    return project


@transaction.atomic
def project_delete(*, actor: ActorLike, project: Project) -> Project:
    """Deactivate the project (soft delete), for the same reason as employees: allocations reference it."""
    if project.active:
        project.active = False
        project.save(update_fields=["active", "updated_at"])
        audit_append(actor=actor, action="project.deactivate", object_type="project", object_id=project.id)
    return project


# Attendance --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceRow:
    """One attendance row as sent; `index` is its position in the request, for error messages."""

    index: int
    employee_id: uuid.UUID
    check_in: datetime
    check_out: datetime
    break_minutes: int = 0
    date: date | None = None


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int


def _add_error(errors: RowErrors, index: int, name: str, message: str) -> None:
    errors.setdefault(str(index), {}).setdefault(name, []).append(message)


def _aware(value: datetime) -> datetime:
    """Naive datetimes are wall-clock times in the tenant's time zone."""
    return value.replace(tzinfo=tenant_zone()) if timezone.is_naive(value) else value


def attendance_rows_check(*, rows: Sequence[AttendanceRow]) -> RowErrors:
    """Every business-rule error of every row, keyed by row index then field; one query for all rows.

    The day a record belongs to is the tenant-local date of check_in: `date` may be omitted, and when it is
    sent it must be that date (a night shift belongs to the day it started).
    """
    errors: RowErrors = {}
    known = employee_ids_existing(ids={row.employee_id for row in rows})
    zone = tenant_zone()
    seen: dict[tuple[uuid.UUID, date], int] = {}
    for row in rows:
        check_in, check_out = _aware(row.check_in), _aware(row.check_out)
        day = check_in.astimezone(zone).date()
        if row.employee_id not in known:
            _add_error(errors, row.index, "employee", "No such employee.")
        if row.date is not None and row.date != day:
            _add_error(errors, row.index, "date", f"Must be check_in's local date ({day.isoformat()}).")
        span = check_out - check_in
        if span <= timedelta(0):
            _add_error(errors, row.index, "check_out", "Must be after check_in.")
        elif span > timedelta(hours=24):
            _add_error(errors, row.index, "check_out", "Must be at most 24 hours after check_in.")
        elif row.break_minutes < 0 or timedelta(minutes=row.break_minutes) >= span:
            _add_error(errors, row.index, "break_minutes", "Must be shorter than the time between check_in and out.")
        key = (row.employee_id, day)
        if key in seen:
            _add_error(errors, row.index, "date", f"Same employee and date as row {seen[key]}.")
        else:
            seen[key] = row.index
    return errors


def _worked_hours(check_in: datetime, check_out: datetime, break_minutes: int) -> Decimal:
    seconds = Decimal((check_out - check_in - timedelta(minutes=break_minutes)).total_seconds())
    return (seconds / Decimal(3600)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@transaction.atomic
def attendance_upsert(*, actor: ActorLike, rows: Sequence[AttendanceRow]) -> UpsertResult:
    """Validate every row, then insert or update them all (one per employee and date) in one statement."""
    if len(rows) > MAX_ATTENDANCE_ROWS:
        raise ValidationFailed("Too many rows.", fields={"rows": [f"At most {MAX_ATTENDANCE_ROWS} rows per request."]})
    errors = attendance_rows_check(rows=rows)
    if errors:
        raise ValidationFailed("Some rows are invalid; nothing was written.", fields={"rows": errors})
    if not rows:
        return UpsertResult(created=0, updated=0)
    zone = tenant_zone()
    records = []
    for row in rows:
        check_in, check_out = _aware(row.check_in), _aware(row.check_out)
        records.append(
            AttendanceRecord(
                employee_id=row.employee_id,
                date=check_in.astimezone(zone).date(),
                check_in=check_in,
                check_out=check_out,
                break_minutes=row.break_minutes,
                worked_hours=_worked_hours(check_in, check_out, row.break_minutes),
            )
        )
    keys = {(record.employee_id, record.date) for record in records}
    # Read before the upsert only to report created/updated; the upsert itself is what guarantees one row.
    existing = set(
        AttendanceRecord.objects.filter(
            employee_id__in={key[0] for key in keys}, date__in={key[1] for key in keys}
        ).values_list("employee_id", "date")
    )
    updated = len(keys & existing)
    AttendanceRecord.objects.bulk_create(
        records,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["employee", "date"],
        update_fields=["check_in", "check_out", "break_minutes", "worked_hours", "updated_at"],
    )
    audit_append(
        actor=actor,
        action="attendance.upsert",
        object_type="attendance",
        data={"created": len(records) - updated, "updated": updated, "employees": len({k[0] for k in keys})},
    )
    _announce_attendance(keys)
    return UpsertResult(created=len(records) - updated, updated=updated)


def _announce_attendance(keys: set[tuple[uuid.UUID, date]]) -> None:
    """Tell the apps above (compliance checks) which employees and dates changed, once the rows are committed."""
    employee_ids = sorted({str(employee_id) for employee_id, _ in keys})
    days = [day for _, day in keys]
    date_from, date_to = min(days), max(days)
    schema = current_schema()
    # Robust: a receiver that fails (a broker down) must not turn a committed import into an error response.
    transaction.on_commit(
        lambda: attendance_imported.send(
            sender=AttendanceRecord, schema=schema, employee_ids=employee_ids, date_from=date_from, date_to=date_to
        ),
        robust=True,
    )


# Allocations -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationRow:
    index: int
    employee_id: uuid.UUID
    project_id: uuid.UUID
    date: date
    hours: Decimal


def allocation_rows_check(*, rows: Sequence[AllocationRow]) -> RowErrors:
    """Every error of every row (unknown employee or project, hours out of range, repeated key); two queries."""
    errors: RowErrors = {}
    employees = employee_ids_existing(ids={row.employee_id for row in rows})
    projects = project_ids_existing(ids={row.project_id for row in rows})
    seen: dict[tuple[uuid.UUID, uuid.UUID, date], int] = {}
    for row in rows:
        if row.employee_id not in employees:
            _add_error(errors, row.index, "employee", "No such employee.")
        if row.project_id not in projects:
            _add_error(errors, row.index, "project", "No such project.")
        if not Decimal(0) < row.hours <= MAX_DAY_HOURS:
            _add_error(errors, row.index, "hours", "Must be more than 0 and at most 24.")
        key = (row.employee_id, row.project_id, row.date)
        if key in seen:
            _add_error(errors, row.index, "date", f"Same employee, project and date as row {seen[key]}.")
        else:
            seen[key] = row.index
    return errors


@transaction.atomic
def allocations_upsert(*, actor: ActorLike, rows: Sequence[AllocationRow]) -> UpsertResult:
    """Manual entries or an import of historical timesheets: one allocation per employee, project and date.

    A manual row replaces whatever was there, including an accepted suggestion's hours; it is then no longer
    counted as an accepted suggestion.
    """
    if len(rows) > MAX_ALLOCATION_ROWS:
        raise ValidationFailed("Too many rows.", fields={"rows": [f"At most {MAX_ALLOCATION_ROWS} rows per request."]})
    errors = allocation_rows_check(rows=rows)
    if errors:
        raise ValidationFailed("Some rows are invalid; nothing was written.", fields={"rows": errors})
    if not rows:
        return UpsertResult(created=0, updated=0)
    period_lock_check(row.date for row in rows)
    weeks_frozen_check({(row.employee_id, row.date) for row in rows})
    keys = {(row.employee_id, row.project_id, row.date) for row in rows}
    existing = set(
        TimesheetProjectAllocation.objects.filter(
            employee_id__in={key[0] for key in keys},
            project_id__in={key[1] for key in keys},
            date__in={key[2] for key in keys},
        ).values_list("employee_id", "project_id", "date")
    )
    updated = len(keys & existing)
    TimesheetProjectAllocation.objects.bulk_create(
        [
            TimesheetProjectAllocation(
                employee_id=row.employee_id,
                project_id=row.project_id,
                date=row.date,
                hours=row.hours.quantize(TWO_PLACES, rounding=ROUND_HALF_UP),
                suggestion=None,
                suggestion_accepted=False,
            )
            for row in rows
        ],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["employee", "project", "date"],
        update_fields=["hours", "suggestion", "suggestion_accepted", "updated_at"],
    )
    audit_append(
        actor=actor,
        action="allocations.upsert",
        object_type="allocation",
        data={"created": len(rows) - updated, "updated": updated, "employees": len({k[0] for k in keys})},
    )
    return UpsertResult(created=len(rows) - updated, updated=updated)


# Work patterns -----------------------------------------------------------------------------------------------


@transaction.atomic
def work_patterns_recompute(*, as_of: date, window_weeks: int = 8, employee_ids: list[uuid.UUID] | None = None) -> int:
    """Rebuild work patterns from the allocations of the `window_weeks` weeks ending on `as_of` (inclusive).

    One statement: the window's allocations grouped per employee, project and weekday (Monday = 0) give
    average_hours (the mean of the allocated hours on the days it occurred), occurrences (the number of such
    days), weeks_observed (the ISO weeks among them: on one weekday each day is its own week, and an employee
    has one allocation per project and day, so the same count) and last_occurrence (the latest). Those are
    upserted, a pattern that already says exactly that is left as it is (a re-run of a period rewrites nothing),
    and the same employees' active patterns that the window no longer shows are deactivated. Returns the number
    of active patterns the window shows.
    """
    if window_weeks < 1:
        raise ValidationFailed("Invalid input.", fields={"window_weeks": ["Must be at least 1."]})
    start = as_of - timedelta(weeks=window_weeks) + timedelta(days=1)
    patterns = WorkPattern._meta.db_table
    allocations = TimesheetProjectAllocation._meta.db_table
    scope_sql = scope_sql_aliased = ""
    params: dict[str, Any] = {"start": start, "as_of": as_of}
    if employee_ids is not None:
        if not employee_ids:
            return 0
        scope_sql = "AND employee_id = ANY(%(employee_ids)s)"
        scope_sql_aliased = "AND p.employee_id = ANY(%(employee_ids)s)"
        params["employee_ids"] = list(employee_ids)
    with connection.cursor() as cursor:
        # A tenant's window groups into a few hundred thousand patterns: hashed in memory, not sorted on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            f"""
            WITH window_patterns AS (
                SELECT employee_id, project_id, extract(isodow FROM date)::int - 1 AS day_of_week,
                       round(avg(hours), 2) AS average_hours, count(*) AS occurrences, max(date) AS last_occurrence
                  FROM {allocations}
                 WHERE date BETWEEN %(start)s AND %(as_of)s {scope_sql}
                 GROUP BY employee_id, project_id, extract(isodow FROM date)
            ),
            upserted AS (
                INSERT INTO {patterns} AS p (id, employee_id, project_id, day_of_week, average_hours, occurrences,
                                             weeks_observed, last_occurrence, is_active, updated_at)
                SELECT gen_random_uuid(), employee_id, project_id, day_of_week, average_hours, occurrences,
                       occurrences, last_occurrence, true, now()
                  FROM window_patterns
                ON CONFLICT (employee_id, project_id, day_of_week) DO UPDATE
                   SET average_hours = EXCLUDED.average_hours,
                       occurrences = EXCLUDED.occurrences,
                       weeks_observed = EXCLUDED.weeks_observed,
                       last_occurrence = EXCLUDED.last_occurrence,
                       is_active = true,
                       updated_at = EXCLUDED.updated_at
                 WHERE (p.average_hours, p.occurrences, p.weeks_observed, p.last_occurrence, p.is_active)
                       IS DISTINCT FROM (EXCLUDED.average_hours, EXCLUDED.occurrences, EXCLUDED.weeks_observed,
                                         EXCLUDED.last_occurrence, true)
            ),
            ended AS (
                UPDATE {patterns} AS p SET is_active = false, updated_at = now()
                 WHERE p.is_active {scope_sql_aliased}
                   AND NOT EXISTS (
                       SELECT 1 FROM window_patterns AS w
                        WHERE w.employee_id = p.employee_id AND w.project_id = p.project_id
                          AND w.day_of_week = p.day_of_week)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM window_patterns), (SELECT count(*) FROM ended)
            """,
            params,
        )
        written, deactivated = (int(value) for value in cursor.fetchone())
    audit_append(
        actor=None,
        action="work_patterns.recompute",
        object_type="work_pattern",
        data={
            "as_of": as_of.isoformat(),
            "window_weeks": window_weeks,
            "employees": "all" if employee_ids is None else len(employee_ids),
            "written": written,
            "deactivated": deactivated,
        },
    )
    return written
