"""Jira records of one tenant: the connection, synced work logs and issue assignments, and the sync cursors."""

from __future__ import annotations

import uuid

from django.db import models

from tenants.fields import EncryptedTextField
from timesheets.models import Employee, Project


class JiraWorkLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    jira_worklog_id = models.CharField(max_length=32, unique=True)
    issue_id = models.CharField(max_length=32)
    issue_key = models.CharField(max_length=64)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="worklogs")
    author_account_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    # The author's calendar day of `started_at` (in the author's time zone): the day the hours count for.
    work_date = models.DateField()
    seconds = models.PositiveIntegerField()
    synced_at = models.DateTimeField(auto_now=True)
    # Whether the hours became an allocation is read from the allocations (jira_sync/selectors.py), not stored.

    class Meta:
        ordering = ["started_at"]
        indexes = [
            models.Index(fields=["employee", "started_at"], name="worklog_employee_started_idx"),
            models.Index(fields=["synced_at"], name="worklog_synced_idx"),
            models.Index(fields=["employee", "work_date"], name="worklog_employee_day_idx"),
            # The work-log list: newest day first across the tenant, or one project's days.
            models.Index(fields=["work_date", "started_at", "id"], name="worklog_day_started_idx"),
            models.Index(fields=["project", "work_date"], name="worklog_project_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.issue_key}:{self.jira_worklog_id}"


class JiraIssueAssignment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    issue_id = models.CharField(max_length=32, unique=True)
    issue_key = models.CharField(max_length=64)
    employee = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="issue_assignments"
    )
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee_account_id = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    jira_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["issue_key"]
        indexes = [models.Index(fields=["employee", "is_active", "status"], name="assignment_employee_active_idx")]

    def __str__(self) -> str:
        return self.issue_key


class JiraConnection(models.Model):
    """The tenant's Jira Cloud site and the credentials the sync uses: at most one row per tenant schema."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Always True; its unique constraint is what makes this table hold a single row.
    singleton = models.BooleanField(default=True, editable=False)
    site_url = models.URLField(max_length=255)
    email = models.EmailField(max_length=254)
    api_token = EncryptedTextField()
    enabled = models.BooleanField(default=True)
    # Jira project keys to sync; empty means every project the account can browse.
    project_keys = models.JSONField(default=list, blank=True)
    sync_interval_minutes = models.PositiveIntegerField(default=30)
    # The API account as Jira reported it when the credentials were verified. JQL dates are read in its zone.
    account_id = models.CharField(max_length=128, blank=True, default="")
    account_time_zone = models.CharField(max_length=64, blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)
    # Last attempt (success or failure); the schedule counts the interval from here.
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)
    # Two-way sync: accepted allocations dated on or after `write_back_since` are written to Jira as work logs.
    write_back_enabled = models.BooleanField(default=False)
    write_back_since = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["singleton"], name="jira_connection_one_per_tenant"),
            models.CheckConstraint(condition=models.Q(singleton=True), name="jira_connection_singleton_true"),
            models.CheckConstraint(
                condition=models.Q(sync_interval_minutes__gte=1), name="jira_connection_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.site_url


class SyncFeed(models.TextChoices):
    WORKLOGS_UPDATED = "worklogs_updated", "Work logs updated"
    WORKLOGS_DELETED = "worklogs_deleted", "Work logs deleted"
    ISSUES = "issues", "Issues"


class JiraSyncCursor(models.Model):
    """How far each Jira feed has been applied; moved only in the transaction that writes what it covers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    feed = models.CharField(max_length=32, choices=SyncFeed.choices, unique=True)
    # Milliseconds since the epoch for the work-log feeds; an ISO-8601 datetime for issues.
    value = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["feed"]

    def __str__(self) -> str:
        return f"{self.feed}={self.value}"


class JiraWorklogWriteback(models.Model):
    """The Jira work log written for one accepted allocation (two-way sync).

    `pending` is committed before the create request is sent and cleared with the answer: a row still pending
    means the outcome is unknown, and the next run looks for the work log by its allocation property before
    creating one, so an allocation is never written twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Not a foreign key: when the allocation is deleted, this row is how its work log is found and removed.
    allocation_id = models.UUIDField(unique=True)
    issue_id = models.CharField(max_length=32)
    issue_key = models.CharField(max_length=64)
    jira_worklog_id = models.CharField(max_length=32, blank=True, default="")
    work_date = models.DateField()
    # What Jira holds (0 until a create is confirmed).
    seconds = models.PositiveIntegerField(default=0)
    pending = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["work_date", "allocation_id"]
        indexes = [models.Index(fields=["work_date"], name="writeback_day_idx")]

    def __str__(self) -> str:
        return f"{self.allocation_id}->{self.issue_key}:{self.jira_worklog_id or '?'}"
