"""The Jira API: connection settings (verified, token write-only and encrypted), sync requests, the work-log list."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from pytest_django.fixtures import Settings as SettingsWrapper

from jira_sync import client as client_module
from jira_sync.models import JiraConnection, JiraSyncCursor, JiraWorkLog, SyncFeed
from jobs.models import BackgroundJob
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.internal_service import SECRET_BODY, closed_port, hang_up_port, internal_service
from tests.support.jira_standin import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    JiraStandin,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
    standin_connect,
)
from timesheets.models import Employee, Project
from timesheets.services import AllocationRow, allocations_upsert

CONNECTION = "/api/jira/connection"


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


def _auth(handle: TenantHandle, role: str) -> dict[str, Any]:
    user = make_user(handle, f"{role.lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", role)
    return {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(standin: JiraStandin, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_url": standin.url,
        "email": DEFAULT_EMAIL,
        "api_token": DEFAULT_TOKEN,
        "project_keys": ["alpha", "BETA"],
        "sync_interval_minutes": 15,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def _put(handle: TenantHandle, auth: dict[str, Any], body: dict[str, Any]) -> Any:
    return handle.client().put(CONNECTION, body, content_type="application/json", **auth)


# --- connection ----------------------------------------------------------------------------------------


def test_an_admin_saves_a_verified_connection_and_never_sees_the_token_again(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    auth = _auth(alpha, "Admin")
    before = alpha.client().get(CONNECTION, **auth)
    assert before.status_code == 200
    assert before.json()["configured"] is False
    assert before.json()["api_token_set"] is False

    saved = _put(alpha, auth, _settings(jira_standin))
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert DEFAULT_TOKEN not in saved.content.decode()
    assert "api_token" not in body
    assert body["configured"] is True
    assert body["api_token_set"] is True
    assert body["site_url"] == jira_standin.url
    assert body["project_keys"] == ["ALPHA", "BETA"]
    assert body["sync_interval_minutes"] == 15
    assert body["account_id"] == f"bot-{DEFAULT_EMAIL}"
    assert body["verified_at"] is not None
    assert [r.path for r in jira_standin.requests] == ["/rest/api/3/myself"]

    shown = alpha.client().get(CONNECTION, **auth)
    assert DEFAULT_TOKEN not in shown.content.decode()
    assert shown.json()["api_token_set"] is True


def test_the_api_token_is_stored_encrypted(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    assert _put(alpha, _auth(alpha, "Admin"), _settings(jira_standin)).status_code == 200
    with tenant_context(alpha.tenant):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT api_token FROM {JiraConnection._meta.db_table}")
            (raw,) = cursor.fetchone()
        assert DEFAULT_TOKEN not in raw
        assert raw.startswith("v1:")
        assert JiraConnection.objects.get().api_token == DEFAULT_TOKEN


def test_saving_again_without_a_token_keeps_the_stored_one_but_not_for_a_new_site(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    auth = _auth(alpha, "Admin")
    assert _put(alpha, auth, _settings(jira_standin)).status_code == 200
    kept = _put(alpha, auth, _settings(jira_standin, api_token=None, sync_interval_minutes=60))
    assert kept.status_code == 200, kept.content
    assert kept.json()["sync_interval_minutes"] == 60
    assert len(jira_standin.requests_to("/myself")) == 2  # verified again with the stored token
    moved = _put(alpha, auth, _settings(jira_standin, api_token=None, site_url="http://127.0.0.1:9"))
    assert moved.status_code == 400
    assert "api_token" in moved.json()["error"]["fields"]


def test_changing_the_site_or_widening_the_project_filter_resets_the_cursors(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    auth = _auth(alpha, "Admin")
    assert _put(alpha, auth, _settings(jira_standin, project_keys=["ALPHA"])).status_code == 200
    with tenant_context(alpha.tenant):
        JiraSyncCursor.objects.create(feed=SyncFeed.WORKLOGS_UPDATED, value="123")
    assert _put(alpha, auth, _settings(jira_standin, project_keys=["ALPHA"], enabled=False)).status_code == 200
    with tenant_context(alpha.tenant):
        assert JiraSyncCursor.objects.exists()
    assert _put(alpha, auth, _settings(jira_standin, project_keys=["ALPHA", "GAMMA"])).status_code == 200
    with tenant_context(alpha.tenant):
        assert not JiraSyncCursor.objects.exists()


def test_bad_credentials_are_a_clear_400_on_the_api_token(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    auth = _auth(alpha, "Admin")
    rejected = _put(alpha, auth, _settings(jira_standin, api_token="wrong-token"))
    assert rejected.status_code == 400
    error = rejected.json()["error"]
    assert error["code"] == "jira_verification_failed"
    assert "401" in error["fields"]["api_token"][0]
    assert "wrong-token" not in rejected.content.decode()

    jira_standin.forbidden_emails.add(DEFAULT_EMAIL)
    forbidden = _put(alpha, auth, _settings(jira_standin))
    assert forbidden.status_code == 400
    assert "403" in forbidden.json()["error"]["fields"]["api_token"][0]
    with tenant_context(alpha.tenant):
        assert not JiraConnection.objects.exists()


def test_an_unreachable_site_is_a_clear_400_on_the_site_url(alpha: TenantHandle) -> None:
    site = f"http://127.0.0.1:{_closed_port()}"
    response = _put(
        alpha,
        _auth(alpha, "Admin"),
        {"site_url": site, "email": "bot@alpha.test", "api_token": "t"},
    )
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["site_url"][0]
    assert message.startswith(f"Jira could not be reached at {site}")


def test_a_disabled_connection_is_saved_without_asking_jira(alpha: TenantHandle) -> None:
    site = f"http://127.0.0.1:{_closed_port()}"
    body = {"site_url": site, "email": "bot@alpha.test", "api_token": "t", "enabled": False}
    response = _put(alpha, _auth(alpha, "Admin"), body)
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert response.json()["verified_at"] is None


def test_a_site_on_a_private_address_is_refused_before_anything_is_sent(
    alpha: TenantHandle, jira_standin: JiraStandin, settings: SettingsWrapper
) -> None:
    settings.JIRA_ALLOW_PRIVATE_HOSTS = False
    response = _put(alpha, _auth(alpha, "Admin"), _settings(jira_standin))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "jira_verification_failed"
    assert "not allowed" in response.json()["error"]["fields"]["site_url"][0]
    assert jira_standin.requests == []
    with tenant_context(alpha.tenant):
        assert not JiraConnection.objects.exists()


def test_an_http_site_is_refused_when_https_is_required(
    alpha: TenantHandle, jira_standin: JiraStandin, settings: SettingsWrapper
) -> None:
    settings.JIRA_REQUIRE_HTTPS = True
    response = _put(alpha, _auth(alpha, "Admin"), _settings(jira_standin))
    assert response.status_code == 400
    assert "https" in response.json()["error"]["fields"]["site_url"][0]
    assert jira_standin.requests == []


def test_what_another_service_answers_is_never_shown_to_the_admin(alpha: TenantHandle) -> None:
    auth = _auth(alpha, "Admin")
    for status in (404, 400, 200):
        with internal_service(status=status) as service:
            body = {"site_url": service.url, "email": "bot@alpha.test", "api_token": "t"}
            response = _put(alpha, auth, body)
        assert response.status_code == 400
        assert SECRET_BODY not in response.content.decode()
        assert service.requests == ["GET /rest/api/3/myself"]


def test_a_closed_port_and_an_open_non_http_port_read_alike(alpha: TenantHandle) -> None:
    auth = _auth(alpha, "Admin")
    messages = []
    with hang_up_port() as open_port:
        for port in (open_port, closed_port()):
            site = f"http://127.0.0.1:{port}"
            response = _put(alpha, auth, {"site_url": site, "email": "bot@alpha.test", "api_token": "t"})
            assert response.status_code == 400
            messages.append(response.json()["error"]["fields"]["site_url"][0].replace(site, "<site>"))
    assert messages[0] == messages[1]


def test_saving_a_new_site_disabled_clears_the_old_sites_verification(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    auth = _auth(alpha, "Admin")
    jira_standin.add_user("acct-bot", email=DEFAULT_EMAIL)
    verified = _put(alpha, auth, _settings(jira_standin))
    assert verified.json()["verified_at"] is not None
    assert verified.json()["account_id"]
    same_site = _put(alpha, auth, _settings(jira_standin, enabled=False))
    assert same_site.json()["verified_at"] is not None
    moved = _put(alpha, auth, _settings(jira_standin, site_url=f"http://127.0.0.1:{closed_port()}", enabled=False))
    assert moved.status_code == 200, moved.content
    assert moved.json()["verified_at"] is None
    assert moved.json()["account_id"] == ""
    with tenant_context(alpha.tenant):
        row = JiraConnection.objects.get()
        assert (row.verified_at, row.account_id, row.account_time_zone) == (None, "", "")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"site_url": "not a url"}, "site_url"),
        ({"site_url": "ftp://jira.example.test"}, "site_url"),
        ({"site_url": "https://user:pw@jira.example.test"}, "site_url"),
        ({"email": None}, "email"),
        ({"email": "nope"}, "email"),
        ({"api_token": None}, "api_token"),
        ({"project_keys": ["1BAD"]}, "project_keys"),
        ({"project_keys": "ALPHA"}, "project_keys"),
        ({"sync_interval_minutes": 0}, "sync_interval_minutes"),
        ({"sync_interval_minutes": "often"}, "sync_interval_minutes"),
    ],
)
def test_bad_connection_input_is_a_400_naming_the_field(
    alpha: TenantHandle, jira_standin: JiraStandin, overrides: dict[str, Any], field: str
) -> None:
    response = _put(alpha, _auth(alpha, "Admin"), _settings(jira_standin, **overrides))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert jira_standin.requests == []


def test_only_admins_see_or_change_the_connection(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    for role in ("HR", "Employee"):
        auth = _auth(alpha, role)
        assert alpha.client().get(CONNECTION, **auth).status_code == 403
        assert _put(alpha, auth, _settings(jira_standin)).status_code == 403
    assert alpha.client().get(CONNECTION).status_code in (401, 403)


def test_another_tenants_connection_and_tokens_are_invisible(
    alpha: TenantHandle, beta: TenantHandle, jira_standin: JiraStandin
) -> None:
    assert _put(beta, _auth(beta, "Admin"), _settings(jira_standin)).status_code == 200
    alpha_admin = _auth(alpha, "Admin")
    seen = alpha.client().get(CONNECTION, **alpha_admin)
    assert seen.status_code == 200
    assert seen.json()["configured"] is False
    assert jira_standin.url not in seen.content.decode()
    # alpha's token does not exist in beta's schema.
    assert beta.client().get(CONNECTION, **alpha_admin).status_code == 401
    assert beta.client().post("/api/jira/sync", **alpha_admin).status_code == 401
    assert beta.client().get("/api/jira/worklogs", **alpha_admin).status_code == 401


# --- sync requests -------------------------------------------------------------------------------------


def test_a_sync_request_answers_202_then_409_naming_the_running_job(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
    auth = _auth(alpha, "HR")
    accepted = alpha.client().post("/api/jira/sync", **auth)
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    assert accepted.json()["status_url"] == f"/api/jobs/{job_id}"
    refused = alpha.client().post("/api/jira/sync", **auth)
    assert refused.status_code == 409
    assert refused.json()["error"]["job_id"] == job_id
    status = alpha.client().get(f"/api/jobs/{job_id}", **auth).json()
    assert (status["job_type"], status["status"], status["parameters"]) == ("jira_sync", "queued", {"trigger": "api"})


def test_a_sync_request_without_an_enabled_connection_is_a_400(alpha: TenantHandle) -> None:
    response = alpha.client().post("/api/jira/sync", **_auth(alpha, "Admin"))
    assert response.status_code == 400
    assert "connection" in response.json()["error"]["fields"]
    with tenant_context(alpha.tenant):
        assert not BackgroundJob.objects.filter(job_type="jira_sync").exists()


def test_employees_cannot_request_a_sync(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin)
    assert alpha.client().post("/api/jira/sync", **_auth(alpha, "Employee")).status_code == 403


# --- the work-log list ---------------------------------------------------------------------------------


def _logs(
    handle: TenantHandle, count: int, *, employee: Employee | None = None, project: Project | None = None
) -> None:
    with tenant_context(handle.tenant):
        JiraWorkLog.objects.bulk_create(
            JiraWorkLog(
                jira_worklog_id=uuid.uuid4().hex[:20],
                issue_id="1",
                issue_key="ALPHA-1",
                employee=employee,
                project=project,
                author_account_id="acct",
                started_at=datetime(2026, 3, 2 + n % 5, 9, tzinfo=UTC),
                work_date=date(2026, 3, 2 + n % 5),
                seconds=5400,
            )
            for n in range(count)
        )


def _people(handle: TenantHandle) -> tuple[Employee, Project]:
    with tenant_context(handle.tenant):
        employee = Employee.objects.create(name="Ann", email="ann@x.test", email_index=uuid.uuid4().hex)
        project = Project.objects.create(code="ALPHA", name="Alpha", jira_project_key="ALPHA")
    return employee, project


def test_the_work_log_list_filters_and_pages(alpha: TenantHandle) -> None:
    ann, alpha_project = _people(alpha)
    _logs(alpha, 3, employee=ann, project=alpha_project)
    _logs(alpha, 2)
    auth = _auth(alpha, "HR")
    everything = alpha.client().get("/api/jira/worklogs", **auth).json()
    assert everything["count"] == 5
    first = everything["results"][0]
    assert set(first) >= {"jira_worklog_id", "issue_key", "employee", "employee_name", "work_date", "hours"}
    assert [row["work_date"] for row in everything["results"]] == sorted(
        (row["work_date"] for row in everything["results"]), reverse=True
    )
    mine = alpha.client().get(f"/api/jira/worklogs?employee={ann.id}", **auth).json()
    assert mine["count"] == 3
    assert {(row["employee_name"], row["project_code"], row["hours"]) for row in mine["results"]} == {
        ("Ann", "ALPHA", "1.50")
    }
    assert alpha.client().get(f"/api/jira/worklogs?project={alpha_project.id}", **auth).json()["count"] == 3
    window = alpha.client().get("/api/jira/worklogs?date_from=2026-03-03&date_to=2026-03-04", **auth).json()
    assert {row["work_date"] for row in window["results"]} == {"2026-03-03", "2026-03-04"}
    paged = alpha.client().get("/api/jira/worklogs?page_size=2&page=2", **auth).json()
    assert len(paged["results"]) == 2
    assert paged["next"] is not None


def test_a_work_log_reads_as_converted_once_its_hours_are_an_allocation(alpha: TenantHandle) -> None:
    ann, alpha_project = _people(alpha)
    _logs(alpha, 2, employee=ann, project=alpha_project)  # 2 and 3 March
    with tenant_context(alpha.tenant):
        other = Project.objects.create(code="OTHER", name="Other")
        allocations_upsert(
            actor=None,
            rows=[
                AllocationRow(
                    index=0, employee_id=ann.id, project_id=alpha_project.id, date=date(2026, 3, 2), hours=Decimal(2)
                ),
                AllocationRow(
                    index=1, employee_id=ann.id, project_id=other.id, date=date(2026, 3, 3), hours=Decimal(2)
                ),
            ],
        )
    rows = alpha.client().get("/api/jira/worklogs", **_auth(alpha, "HR")).json()["results"]
    assert {row["work_date"]: row["was_converted"] for row in rows} == {"2026-03-02": True, "2026-03-03": False}


def test_the_work_log_list_costs_the_same_queries_for_2_or_40_rows(alpha: TenantHandle) -> None:
    ann, project = _people(alpha)
    auth = _auth(alpha, "Admin")
    counts = []
    for rows in (2, 38):
        _logs(alpha, rows, employee=ann, project=project)
        alpha.client().get("/api/jira/worklogs", **auth)  # warm the tenant lookup and the role cache
        with CaptureQueriesContext(connection) as queries:
            response = alpha.client().get("/api/jira/worklogs", **auth)
        assert response.status_code == 200
        # django-tenants sets the search_path before each query; count the queries themselves.
        counts.append(sum(1 for q in queries.captured_queries if not q["sql"].startswith("SET search_path")))
    # The count and the page with employee and project joined (the warm token and its roles are remembered).
    assert counts == [2, 2]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("employee=nope", "employee"),
        ("project=12", "project"),
        ("date_from=yesterday", "date_from"),
        ("date_from=2026-03-05&date_to=2026-03-01", "date_to"),
    ],
)
def test_bad_work_log_filters_are_a_400_naming_the_field(alpha: TenantHandle, query: str, field: str) -> None:
    response = alpha.client().get(f"/api/jira/worklogs?{query}", **_auth(alpha, "HR"))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_work_log_list_is_for_staff_and_shows_only_this_tenants_logs(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    _logs(beta, 4)
    _logs(alpha, 1)
    assert alpha.client().get("/api/jira/worklogs", **_auth(alpha, "Employee")).status_code == 403
    assert alpha.client().get("/api/jira/worklogs", **_auth(alpha, "HR")).json()["count"] == 1


def test_each_jira_write_appends_exactly_one_audit_event(alpha: TenantHandle) -> None:
    from audit.models import AuditEvent

    auth = _auth(alpha, "Admin")

    def new_actions(call: Any) -> list[str]:
        with tenant_context(alpha.tenant):
            before = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        assert call().status_code < 300
        with tenant_context(alpha.tenant):
            return list(AuditEvent.objects.filter(sequence__gt=before).values_list("action", flat=True))

    disabled = {"site_url": "https://jira.example.test", "email": "bot@alpha.test", "api_token": "t", "enabled": False}
    assert new_actions(lambda: _put(alpha, auth, disabled)) == ["jira.connection.save"]
    with tenant_context(alpha.tenant):
        JiraConnection.objects.update(enabled=True)
    assert new_actions(lambda: alpha.client().post("/api/jira/sync", **auth)) == ["jira.sync.request"]
