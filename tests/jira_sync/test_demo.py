"""The stand-in's demo mode (`make run`): seeded from the demo tenant, connected to it, and a sync that imports."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from jira_sync import client as client_module
from jira_sync.models import JiraConnection, JiraWorkLog
from jira_sync.services.sync import jira_sync_run
from jobs.models import BackgroundJob, JobStatus
from tenants.crypto import blind_index
from tests.conftest import TenantHandle
from tests.support.jira_standin import (
    JiraStandin,
    _demo_connect,
    _demo_seed,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
    standin_connect,
)
from timesheets.models import Employee, Project


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


def test_the_demo_stand_in_mirrors_the_tenant_connects_it_and_its_sync_imports_work_logs(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann = Employee.objects.create(
            name="Ann", email="ann@alpha.test", email_index=blind_index("ann@alpha.test", purpose="email"),
            jira_account_id="acct-ann",
        )  # fmt: skip
        Project.objects.create(code="ALPHA", name="Alpha", jira_project_key="ALPHA")
    tenant, seeded = _demo_seed(jira_standin, "alpha")
    assert tenant is not None
    assert "2 contractors" in seeded
    assert "acct-ann" in jira_standin._data.users
    assert "queued" in _demo_connect(jira_standin, tenant)
    with tenant_context(alpha.tenant):
        connection = JiraConnection.objects.get()
        assert (connection.site_url, connection.sync_interval_minutes) == (jira_standin.url, 5)
        assert connection.verified_at is not None
        job = BackgroundJob.objects.get(job_type="jira_sync")
        assert (job.status, job.parameters) == (JobStatus.QUEUED, {"trigger": "demo"})
        finished = jira_sync_run(job_id=job.id)
        assert finished is not None
        assert finished.status == JobStatus.SUCCEEDED, finished.error
        assert finished.result["worklogs_upserted"] == len(jira_standin.worklog_ids)
        assert finished.result["unmapped_authors"] == ["acct-contractor-1", "acct-contractor-2"]
        assert JiraWorkLog.objects.filter(employee=ann).exists()


def test_the_demo_leaves_a_tenant_connected_to_a_real_jira_site_alone(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin, site_url="https://acme.atlassian.net")
    tenant, _ = _demo_seed(jira_standin, "alpha")
    assert "left alone" in _demo_connect(jira_standin, tenant)
    with tenant_context(alpha.tenant):
        assert JiraConnection.objects.get().site_url == "https://acme.atlassian.net"
        assert not BackgroundJob.objects.filter(job_type="jira_sync").exists()
    assert _demo_seed(jira_standin, "nobody")[0] is None
