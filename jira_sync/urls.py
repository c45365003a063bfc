"""URLs of the Jira API."""

from __future__ import annotations

from django.urls import path

from jira_sync.api import JiraConnectionApi, JiraSyncApi, JiraWorklogListApi

urlpatterns = [
    path("jira/connection", JiraConnectionApi.as_view(), name="jira-connection"),
    path("jira/sync", JiraSyncApi.as_view(), name="jira-sync"),
    path("jira/worklogs", JiraWorklogListApi.as_view(), name="jira-worklogs"),
]
