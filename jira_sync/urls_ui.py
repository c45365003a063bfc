"""URLs of the Jira pages of the web UI: the connection settings and the sync job's progress."""

from __future__ import annotations

from django.urls import path

from jira_sync import views

urlpatterns = [
    path("jira", views.jira, name="jira"),
    path("jira/sync", views.jira_sync, name="jira-sync"),
    path("jira/sync/<uuid:job_id>", views.jira_sync_job, name="jira-sync-job"),
    path("jira/sync/<uuid:job_id>/progress", views.jira_sync_job_progress, name="jira-sync-job-progress"),
]
