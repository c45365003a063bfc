"""Work logs and issue assignments synced from the tenant's Jira site."""

from __future__ import annotations

import uuid

from django.db import models

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
    was_converted = models.BooleanField(default=False)

    class Meta:
        ordering = ["started_at"]
        indexes = [
            models.Index(fields=["employee", "started_at", "was_converted"], name="worklog_employee_started_idx"),
            models.Index(fields=["synced_at"], name="worklog_synced_idx"),
            models.Index(fields=["employee", "work_date"], name="worklog_employee_day_idx"),
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
