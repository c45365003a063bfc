"""The operator console on the public host: public-schema operators, tenants with counts, suspend and resume,
failed jobs across tenants, and never a tenant's personal data."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from jobs.models import BackgroundJob, JobStatus
from tests.conftest import PASSWORD, TenantHandle
from tests.timesheets.factories import make_employee

PUBLIC_HOST = "localhost"


@pytest.fixture
def operator(alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
    with schema_context("public"):
        User.objects.create_superuser("operator", "ops@service.test", PASSWORD)
    client = Client(HTTP_HOST=PUBLIC_HOST)
    response = client.post("/admin/login/?next=/admin/", {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def test_an_operator_sees_tenants_with_counts_and_no_personal_data(alpha: TenantHandle, operator: Client) -> None:
    make_employee(alpha, name="Private Person", email="private.person@alpha.test")
    page = operator.get("/admin/tenants/tenant/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "alpha" in text
    assert "alpha.localhost" in text
    assert "Private Person" not in text
    assert "private.person@alpha.test" not in text
    assert alpha.admin_email not in text
    detail = operator.get(f"/admin/tenants/tenant/{alpha.tenant.pk}/change/").content.decode()
    assert alpha.admin_email not in detail
    assert "Private Person" not in detail


def test_an_operator_suspends_and_resumes_a_tenant(alpha: TenantHandle, operator: Client) -> None:
    assert alpha.client().get("/api/auth/me").status_code == 401
    response = operator.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [alpha.tenant.pk]})
    assert response.status_code == 302
    assert alpha.client().get("/api/auth/me").status_code == 403
    operator.post("/admin/tenants/tenant/", {"action": "resume", "_selected_action": [alpha.tenant.pk]})
    assert alpha.client().get("/api/auth/me").status_code == 401


def test_failed_jobs_are_listed_by_tenant_and_type_without_their_error(alpha: TenantHandle, operator: Client) -> None:
    with tenant_context(alpha.tenant):
        BackgroundJob.objects.create(
            job_type="jira_sync", status=JobStatus.FAILED, error="token of jane.doe@alpha.test rejected"
        )
    text = operator.get("/admin/failed-jobs/").content.decode()
    assert "jira_sync" in text
    assert "jane.doe" not in text


def test_a_tenants_admin_cannot_sign_in_to_the_console(alpha: TenantHandle) -> None:
    client = Client(HTTP_HOST=PUBLIC_HOST)
    response = client.post("/admin/login/?next=/admin/", {"username": alpha.admin_email, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with its error
    assert client.get("/admin/tenants/tenant/").status_code == 302


def test_the_console_is_not_served_on_a_tenants_host(alpha: TenantHandle) -> None:
    response: Any = alpha.client().get("/admin/")
    assert response.status_code in (302, 404)
    assert "operator console" not in response.content.decode().lower()
