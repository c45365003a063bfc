"""Timesheet records of one tenant (each tenant schema holds its own copy of these tables)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.fields import EncryptedDecimalField, EncryptedTextField


def hours_field(*, null: bool = False) -> models.DecimalField[Decimal | None, Decimal | None]:
    """Hours with two decimals, up to 999.99."""
    return models.DecimalField(max_digits=5, decimal_places=2, null=null, blank=null)


class Employee(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    jira_account_id = models.CharField(max_length=128, blank=True, default="")
    active = models.BooleanField(default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="employee"
    )
    # The Manager role sees and decides the records of the employees whose manager is their own record.
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports", db_index=True
    )
    weekly_hours = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal("40.0"))
    # The first day of employment (hire date); no contract term may start before it. NULL for records from
    # before the field existed, which then bound nothing.
    start_date = models.DateField(null=True, blank=True)
    # PII, encrypted at rest with the tenant's data key; blind indexes allow exact lookup without decrypting.
    national_id = EncryptedTextField(null=True, blank=True)
    bank_account = EncryptedTextField(null=True, blank=True)
    salary = EncryptedDecimalField(null=True, blank=True)
    national_id_index = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL = no national id
    email_index = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["email_index"], name="employee_unique_email"),
            models.UniqueConstraint(
                fields=["national_id_index"],
                condition=models.Q(national_id_index__isnull=False),
                name="employee_unique_national_id",
            ),
        ]
        indexes = [
            models.Index(fields=["jira_account_id"], name="employee_jira_account_idx"),
            models.Index(fields=["active", "name"], name="employee_active_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    jira_project_key = models.CharField(max_length=32, blank=True, default="")
    active = models.BooleanField(default=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    # For the reports: who the work is for, whether it is billed, the hours budgeted and the cost centre.
    # Defaults held by the database too, so bulk COPY writers that name only the older columns still insert.
    client = models.CharField(max_length=200, blank=True, default="", db_default="")
    billable = models.BooleanField(default=True, db_default=True)
    budget_hours = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    cost_centre = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["jira_project_key"], name="project_jira_key_idx")]

    def __str__(self) -> str:
        return self.code


class AttendanceRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="attendance")
    date = models.DateField()
    check_in = models.DateTimeField()
    check_out = models.DateTimeField()
    break_minutes = models.PositiveSmallIntegerField(default=0)
    worked_hours = hours_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "employee_id"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "date"], name="attendance_one_per_employee_day"),
            models.CheckConstraint(
                condition=models.Q(check_out__gt=models.F("check_in")), name="attendance_out_after_in"
            ),
        ]
        indexes = [models.Index(fields=["date"], name="attendance_date_idx")]

    def __str__(self) -> str:
        return f"{self.employee_id}@{self.date}"


class WorkPattern(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="work_patterns")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="work_patterns")
    day_of_week = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])  # Monday = 0
    average_hours = hours_field()
    occurrences = models.PositiveIntegerField(default=0)
    weeks_observed = models.PositiveSmallIntegerField(default=0)
    last_occurrence = models.DateField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["employee_id", "day_of_week", "project_id"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "project", "day_of_week"], name="pattern_unique_key"),
        ]
        indexes = [
            models.Index(fields=["employee", "project", "day_of_week", "is_active"], name="pattern_lookup_idx"),
            models.Index(fields=["employee", "last_occurrence"], name="pattern_recency_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id}/{self.project_id}/{self.day_of_week}"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    AUTO_ACCEPTED = "auto_accepted", "Auto-accepted"


class SuggestionSource(models.TextChoices):
    ML = "ml", "Learned model"
    RULES = "rules", "Rules engine"


class AcceptanceBatch(models.Model):
    """One "accept every confident suggestion" action: what it accepted, so that it can be undone as one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    criteria = models.JSONField(default=dict)
    accepted = models.PositiveIntegerField(default=0)
    hours = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reverted = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"batch {self.id}: {self.accepted}"


class ProjectAllocationSuggestion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: suggestion_employee_status_idx leads with the employee.
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="suggestions", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="suggestions")
    date = models.DateField()
    hours = hours_field()
    confidence = models.DecimalField(
        max_digits=4, decimal_places=3, validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]
    )
    source = models.CharField(max_length=8, choices=SuggestionSource.choices, default=SuggestionSource.RULES)
    explanation = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    expiry_date = models.DateField()
    accepted_hours = hours_field(null=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Who decided one by one; empty when `batch` is set (the batch records who accepted it and when).
    # Its index is partial (suggestion_decided_by_idx): a bulk accept adds no entry to it.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    job_id = models.UUIDField(null=True, blank=True)
    # Set when the suggestion was accepted by an "accept every confident suggestion" action (undo reverts it).
    # No database constraint: the batch row is written in the same transaction and batches are never deleted, and
    # a constraint would cost one check per accepted row at commit (100,000 for a confident week).
    batch = models.ForeignKey(
        AcceptanceBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "employee_id", "project_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "project", "date"],
                condition=models.Q(status="pending"),
                name="suggestion_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1), name="suggestion_confidence_0_1"
            ),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="suggestion_hours_positive"),
        ]
        # Accepting a suggestion rewrites its row (an update that changes `status` cannot be HOT while an index
        # predicate reads it), and a non-HOT update adds an entry to every index whose predicate the new row
        # meets: the indexes the review reads are partial, so an accepted row only enters the primary key,
        # employee, project and batch indexes.
        indexes = [
            models.Index(fields=["employee", "status", "expiry_date"], name="suggestion_employee_status_idx"),
            models.Index(
                fields=["date"],
                condition=models.Q(status__in=["pending", "rejected"]),
                name="suggestion_open_date_idx",
            ),
            # The review's order (least confident first): a page of it is read off the index, not sorted.
            models.Index(
                fields=["confidence", "date", "id"],
                condition=models.Q(status="pending"),
                name="suggestion_pending_conf_idx",
            ),
            models.Index(
                fields=["decided_by"], condition=models.Q(decided_by__isnull=False), name="suggestion_decided_by_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id}/{self.project_id}/{self.date}:{self.hours}"


class TimesheetProjectAllocation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No indexes of their own: allocation_one_per_key (employee, date, project) and allocation_project_date_idx
    # lead with them, and every index costs each of the bulk writes (accepting a confident week writes 100,000
    # rows in one statement).
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="allocations", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="allocations", db_index=False)
    date = models.DateField()
    hours = hours_field()
    suggestion = models.ForeignKey(
        ProjectAllocationSuggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="allocations"
    )
    suggestion_accepted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "employee_id", "project_id"]
        constraints = [
            # Employee and date first: the same index serves "this employee's days" (no separate index for it).
            models.UniqueConstraint(fields=["employee", "date", "project"], name="allocation_one_per_key"),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="allocation_hours_positive"),
        ]
        indexes = [
            models.Index(fields=["project", "date"], name="allocation_project_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id}/{self.project_id}/{self.date}:{self.hours}"


class UnallocatedDay(models.Model):
    """Attendance with no signal to split it by: shown to HR as a gap to fill by hand."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="unallocated_days")
    date = models.DateField()
    attended_hours = hours_field()
    reason = models.CharField(max_length=200)
    job_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "employee_id"]
        constraints = [models.UniqueConstraint(fields=["employee", "date"], name="unallocated_one_per_day")]

    def __str__(self) -> str:
        return f"{self.employee_id}@{self.date}"


# The timesheet lifecycle: pay periods and their locks, weeks and their approval, day notes ----------------------


class PayFrequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    BIWEEKLY = "biweekly", "Bi-weekly"
    SEMI_MONTHLY = "semi_monthly", "Semi-monthly"
    MONTHLY = "monthly", "Monthly"


class PayPeriodPolicy(models.Model):
    """The tenant's pay period: one row (absent = monthly, calendar months)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    singleton = models.BooleanField(default=True, unique=True)
    frequency = models.CharField(max_length=16, choices=PayFrequency.choices, default=PayFrequency.MONTHLY)
    # Weekly and bi-weekly periods start on this date and every 7/14 days from it; monthly periods start on its
    # day of the month (1 to 28); semi-monthly periods are always the 1st-15th and the 16th-end of month.
    anchor_date = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="pay_policy_singleton")]

    def __str__(self) -> str:
        return f"{self.frequency} from {self.anchor_date}"


class PayPeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class PayPeriod(models.Model):
    """A pay period that has been closed at least once. While `closed`, a database trigger refuses every
    change to allocations dated inside it (migrations/timesheets/0004_pay_periods_and_weeks.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    start_date = models.DateField(unique=True)
    end_date = models.DateField()
    status = models.CharField(max_length=8, choices=PayPeriodStatus.choices, default=PayPeriodStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Closed with an override: the weeks that were not approved at that moment, as listed to the closer.
    override = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=500, blank=True, default="")
    unapproved = models.JSONField(default=list, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopen_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")), name="pay_period_order"),
        ]
        indexes = [models.Index(fields=["status", "start_date", "end_date"], name="pay_period_status_idx")]

    def __str__(self) -> str:
        return f"{self.start_date}..{self.end_date}"


class WeekStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TimesheetWeek(models.Model):
    """One employee's week (Monday to Sunday) once it has been submitted; no row = draft."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="weeks")
    week_start = models.DateField()
    status = models.CharField(max_length=16, choices=WeekStatus.choices, default=WeekStatus.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.CharField(max_length=1000, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start", "employee_id"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "week_start"], name="week_one_per_employee"),
        ]
        indexes = [models.Index(fields=["status", "week_start"], name="week_status_idx")]

    def __str__(self) -> str:
        return f"{self.employee_id}@{self.week_start}:{self.status}"


class DayNote(models.Model):
    """An employee's note on one day of their timesheet (also the reason a day is not fully allocated)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="day_notes")
    date = models.DateField()
    note = models.CharField(max_length=500)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "employee_id"]
        constraints = [models.UniqueConstraint(fields=["employee", "date"], name="day_note_one_per_day")]

    def __str__(self) -> str:
        return f"{self.employee_id}@{self.date}"


class ReminderKind(models.TextChoices):
    DUE = "due", "Week due"
    OVERDUE = "overdue", "Week overdue"
    DIGEST = "digest", "Weeks waiting for a decision"


class ReminderSent(models.Model):
    """A reminder sent: at most one per kind, person and period, however often the task runs or is retried."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()  # the week's Monday; for a digest, the day it covers
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "user", "period_start"], name="reminder_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.user_id}@{self.period_start}"


class ReminderPreference(models.Model):
    """Which of the reminders that are not required a user wants (a rejected week is always told)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="reminder_preference"
    )
    week_reminders = models.BooleanField(default=True)
    manager_digest = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"reminders:{self.user_id}"
