"""Working-time records of one tenant: its calendar, company days off, leave, contracts and compliance rules."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from timesheets.models import Employee, hours_field

# Weekdays as ISO numbers (Monday 1 … Sunday 7), the way a contract names its work days.
MONDAY_TO_FRIDAY = [1, 2, 3, 4, 5]


class WorkCalendar(models.Model):
    """The tenant's calendar: one row per tenant schema (the country whose public holidays apply)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    country = models.CharField(max_length=2, default="")
    subdivision = models.CharField(max_length=10, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="work_calendar_single_row")]

    def __str__(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country


class CompanyDayOff(models.Model):
    """A day the whole company is off besides public holidays (a half day counts half)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    date = models.DateField(unique=True)
    name = models.CharField(max_length=120)
    half_day = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class LeaveType(models.Model):
    # Keyed by its code: the default types are seed rows cloned into every tenant, so a generated id would be
    # the same in every tenant.
    code = models.SlugField(max_length=32, primary_key=True)
    name = models.CharField(max_length=120)
    paid = models.BooleanField(default=True)
    requires_approval = models.BooleanField(default=True)
    # Whether taking it uses up the yearly entitlement (vacation does, sick leave does not).
    uses_entitlement = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class LeavePortion(models.TextChoices):
    FULL_DAY = "full_day", "Whole days"
    HALF_DAY = "half_day", "Half a day"
    HOURS = "hours", "Hours"


class LeaveStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


# Leave in these states occupies its days: a second request over them is an overlap.
ACTIVE_LEAVE = (LeaveStatus.REQUESTED, LeaveStatus.APPROVED)


class LeaveRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="leave")
    leave_type = models.ForeignKey(LeaveType, on_delete=models.PROTECT, related_name="records")
    start_date = models.DateField()
    end_date = models.DateField()
    portion = models.CharField(max_length=10, choices=LeavePortion.choices, default=LeavePortion.FULL_DAY)
    # Only for `hours`: the hours of leave on the (single) day.
    hours = hours_field(null=True)
    status = models.CharField(max_length=10, choices=LeaveStatus.choices, default=LeaveStatus.APPROVED)
    note = models.CharField(max_length=500, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_date", "employee_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="leave_dates_ordered"
            ),
            models.CheckConstraint(
                condition=~models.Q(portion="hours") | models.Q(hours__gt=0, end_date=models.F("start_date")),
                name="leave_hours_on_one_day",
            ),
        ]
        indexes = [
            models.Index(fields=["employee", "start_date", "end_date"], name="leave_employee_dates_idx"),
            models.Index(fields=["status", "start_date"], name="leave_status_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id}:{self.start_date}..{self.end_date}"


class LeaveEntitlement(models.Model):
    """Days of a leave type an employee may take in a calendar year."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="entitlements")
    leave_type = models.ForeignKey(LeaveType, on_delete=models.PROTECT, related_name="entitlements")
    year = models.PositiveSmallIntegerField()
    days = models.DecimalField(max_digits=5, decimal_places=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employee", "leave_type", "year"], name="entitlement_one_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id}:{self.year}"


class Contract(models.Model):
    """Contract terms from a date: history stays right when the terms change."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="contracts")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    weekly_hours = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal("40.0"))
    work_days = models.JSONField(default=list)
    # Hours of each work day when they are not weekly_hours spread evenly over the work days.
    daily_hours = hours_field(null=True)
    # The employee's own location for public holidays; blank means the company calendar's.
    country = models.CharField(max_length=2, blank=True, default="")
    subdivision = models.CharField(max_length=10, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["employee_id", "starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "starts_on"], name="contract_one_per_start"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="contract_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} from {self.starts_on}"


class ComplianceRuleSet(models.Model):
    """The tenant's working-time rules: a preset and the thresholds it adjusted. One row per tenant schema."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    preset = models.CharField(max_length=16, default="eu_wtd")
    thresholds = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="compliance_rules_single_row")]

    def __str__(self) -> str:
        return self.preset


class ComplianceViolation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="violations")
    date = models.DateField()
    rule = models.CharField(max_length=32)
    measured = models.DecimalField(max_digits=7, decimal_places=2)
    limit = models.DecimalField(max_digits=7, decimal_places=2)
    message = models.CharField(max_length=300)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement = models.CharField(max_length=500, blank=True, default="")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "employee_id", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "date", "rule"], name="violation_one_per_rule_day"),
        ]
        indexes = [models.Index(fields=["date", "rule"], name="violation_date_rule_idx")]

    def __str__(self) -> str:
        return f"{self.employee_id}@{self.date}:{self.rule}"
