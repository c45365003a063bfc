"""Real processes: the API queues a sync and a real Celery worker runs it against the stand-in to success."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection, connections
from django_tenants.utils import tenant_context

from hrms.celery import app
from jira_sync.models import JiraIssueAssignment, JiraWorkLog
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.jira_standin import JiraStandin, standin_connect


def _purge(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE jira_sync_jiraworklog, jira_sync_jiraissueassignment, jira_sync_jiraconnection, "
            "jira_sync_jirasynccursor, jobs_backgroundjob, authtoken_token CASCADE"
        )


@pytest.mark.slow
def test_a_real_worker_runs_a_requested_sync_to_success(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    with JiraStandin() as standin, django_db_blocker.unblock():
        standin.change_page_size = 100
        standin.seed(worklogs=450, users=5, issues=20)
        try:
            with tenant_context(handle.tenant):
                standin_connect(standin)
            user = make_user(handle, f"hr-{uuid.uuid4().hex[:6]}@alpha.test", "HR")
            auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}
            with start_worker(app, perform_ping_check=False, pool="solo", queues=["sync"], loglevel="WARNING"):
                response = handle.client().post("/api/jira/sync", **auth)
                assert response.status_code == 202, response.content
                status_url = response.json()["status_url"]
                deadline = time.monotonic() + 60
                body: dict[str, Any] = {}
                while time.monotonic() < deadline:
                    body = handle.client().get(status_url, **auth).json()
                    if body["status"] in ("succeeded", "failed"):
                        break
                    time.sleep(0.2)
            assert body["status"] == "succeeded", body
            assert body["progress"] == 100
            assert body["processed"] == body["total"] == body["result"]["pages"]
            assert body["result"]["worklogs_upserted"] == 450
            with tenant_context(handle.tenant):
                assert JiraWorkLog.objects.count() == 450
                assert JiraIssueAssignment.objects.count() == 20
            connection_state = handle.client().get("/api/jira/connection", **auth)
            assert connection_state.status_code == 403  # HR may sync but not see the settings
        finally:
            _purge(handle)
            connections.close_all()
