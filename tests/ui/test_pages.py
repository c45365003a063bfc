"""The Jira, model and audit pages and the role rules of the web UI, through Django's test client."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from intelligence.models import ArtifactStatus, ModelArtifact
from jira_sync.models import JiraConnection
from jobs.models import BackgroundJob, JobStatus
from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.support.jira_standin import JiraStandin
from tests.timesheets.factories import make_employee


def _client(handle: TenantHandle, *roles: str) -> Client:
    username = f"{'-'.join(roles).lower() or 'nobody'}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    make_user(handle, username, *roles)
    client = handle.client()
    response = client.post("/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def _text(response: Any) -> str:
    return str(response.content.decode())


def test_staff_pages_send_employees_back_to_the_dashboard_with_a_message(alpha: TenantHandle) -> None:
    client = _client(alpha, "Employee")
    for path in ("/generate", "/jira", "/model", "/audit", "/audit/verify", "/employees/new"):
        response = client.get(path, follow=True)
        assert response.redirect_chain[-1][0] == "/", path
        assert "That page needs the HR or Admin role." in _text(response), path
    assert client.post("/jira/sync", follow=True).redirect_chain[-1][0] == "/"


def test_anonymous_visitors_are_sent_to_the_login_page(alpha: TenantHandle) -> None:
    response = alpha.client().get("/audit")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/audit"


def test_a_post_without_a_csrf_token_is_refused(alpha: TenantHandle) -> None:
    make_user(alpha, "csrf@alpha.test", "HR")
    client = Client(HTTP_HOST=alpha.host, enforce_csrf_checks=True)
    assert client.post("/login", {"username": "csrf@alpha.test", "password": PASSWORD}).status_code == 403


def test_the_model_page_says_the_rules_answer_when_nothing_was_trained(alpha: TenantHandle) -> None:
    response = _client(alpha, "HR").get("/model")
    assert response.status_code == 200
    assert 'id="model-engine">rules<' in _text(response)
    assert "No training run yet" in _text(response)
    assert "<svg" not in _text(response)


def test_the_model_page_compares_model_and_rules_and_charts_every_training_run(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        for version, model_mae in ((1, 0.9), (2, 0.6), (3, 0.45)):
            ModelArtifact.objects.create(
                version=version,
                status=ArtifactStatus.REJECTED if version < 3 else ArtifactStatus.SUPERSEDED,
                reason=f"run {version}",
                metrics={
                    "model": {"hours_mae": model_mae, "acceptance_log_loss": 0.41},
                    "rules": {"hours_mae": 0.7, "acceptance_log_loss": 0.52},
                },
            )
    text = _text(_client(alpha, "Admin").get("/model"))
    assert text.count('class="model-point"') == 3
    assert "Hours off per entry (lower is better) on the days kept aside, run by run" in text
    # In HR's words: what the numbers mean, with their unit, and no internal metric names.
    assert "the model was off by 0.45 h per entry and the rules engine by 0.70 h: the model was closer." in text
    assert (
        '<th scope="row">Hours off per suggested entry, on average</th>'
        '<td class="num">0.45 h</td><td class="num">0.70 h</td>'
    ) in text
    assert "hours_mae" not in text
    assert "acceptance_log_loss" not in text
    assert re.search(r">\d\.\d\d h</text>", text)  # the chart's axis carries its unit
    assert "run 3" in text


def test_the_train_button_queues_one_training_run_and_shows_its_progress(alpha: TenantHandle) -> None:
    client = _client(alpha, "HR")
    assert 'id="train"' in _text(client.get("/model"))
    response = client.post("/model/train", follow=True)
    assert response.redirect_chain[-1][0].startswith("/model/train/")
    assert "Training queued." in _text(response)
    assert 'id="job-progress"' in _text(response)
    with tenant_context(alpha.tenant):
        assert BackgroundJob.objects.filter(job_type="model_training").count() == 1
    # While it runs, the page offers to follow it instead of a second run.
    page = _text(client.get("/model"))
    assert 'id="training-running"' in page
    assert 'id="train"' not in page
    assert "needs the HR or Admin role" in _text(_client(alpha, "Employee").post("/model/train", follow=True))


def test_the_audit_page_filters_events_and_verifies_the_chain(alpha: TenantHandle) -> None:
    client = _client(alpha, "HR")
    created = client.post(
        "/employees/new", {"name": "Audited Person", "email": "audited@alpha.test", "weekly_hours": "40"}
    )
    assert created.status_code == 302
    with tenant_context(alpha.tenant):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        total = AuditEvent.objects.count()
    assert "employee.create" in actions
    text = _text(client.get("/audit?action=employee.create"))
    assert "<code>employee.create</code>" in text
    assert "<code>auth.login</code>" not in text
    assert f"{total} event" in _text(client.get("/audit"))
    assert _text(client.get("/audit?date_from=2026-03-10&date_to=2026-03-01")).count("Must not be before") == 1

    fragment = client.get("/audit/verify", HTTP_HX_REQUEST="true")
    assert 'id="verify-ok"' in _text(fragment)
    assert "<html" not in _text(fragment)
    assert "Chain intact." in _text(client.get("/audit/verify"))


def test_the_jira_page_tests_saves_and_refuses_bad_connection_settings(alpha: TenantHandle) -> None:
    admin, hr = _client(alpha, "Admin"), _client(alpha, "HR")
    assert "Not configured" in _text(admin.get("/jira"))
    with JiraStandin() as standin:
        email, token = next(iter(standin.credentials.items()))
        form = {"site_url": standin.url, "email": email, "api_token": token, "project_keys": "alpha, BETA"}
        form |= {"sync_interval_minutes": "30", "enabled": "on"}

        tested = admin.post("/jira", form | {"action": "test"})
        assert tested.status_code == 200
        assert "Connection works: Jira answered as" in _text(tested)
        with tenant_context(alpha.tenant):
            assert not JiraConnection.objects.exists()

        wrong = admin.post("/jira", form | {"action": "save", "api_token": "not-the-token"})
        assert wrong.status_code == 400
        assert "Jira rejected this email and API token" in _text(wrong)

        bad_keys = admin.post("/jira", form | {"action": "save", "project_keys": "9LIVES"})
        assert bad_keys.status_code == 400
        assert "Not a Jira project key: 9LIVES" in _text(bad_keys)

        saved = admin.post("/jira", form | {"action": "save"}, follow=True)
        assert "Jira connection saved and verified." in _text(saved)
        with tenant_context(alpha.tenant):
            row = JiraConnection.objects.get()
            assert row.project_keys == ["ALPHA", "BETA"]
            assert row.verified_at is not None
        assert token not in _text(saved)
        assert 'id="token-stored"' in _text(saved)

        # HR may sync but not change the settings.
        assert "Only an Admin can change these settings." in _text(hr.get("/jira"))
        refused = hr.post("/jira", form | {"action": "save"}, follow=True)
        assert "needs the Admin role" in _text(refused)


def test_a_sync_request_without_a_connection_is_explained_not_queued(alpha: TenantHandle) -> None:
    response = _client(alpha, "HR").post("/jira/sync", follow=True)
    assert "There is no enabled Jira connection for this tenant." in _text(response)


def test_job_pages_of_another_tenant_or_kind_are_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    client = _client(alpha, "HR")
    missing = uuid.uuid4()
    response = client.get(f"/generate/{missing}", follow=True)
    assert "No such job." in _text(response)
    fragment = client.get(f"/jira/sync/{missing}/progress")
    assert fragment.status_code == 200
    assert "No such job." in _text(fragment)


def test_a_finished_job_page_shows_the_result_of_its_kind(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        generation = BackgroundJob.objects.create(
            job_type="timesheet_generation",
            status=JobStatus.SUCCEEDED,
            progress=100,
            processed=3,
            total=3,
            parameters={"start_date": "2026-03-02", "end_date": "2026-03-06"},
            result={"suggestions_created": 12, "unallocated_days": 1},
        )
        sync = BackgroundJob.objects.create(
            job_type="jira_sync",
            status=JobStatus.SUCCEEDED,
            progress=100,
            result={"worklogs_upserted": 7, "unmapped_authors": ["ghost-1", "<ghost-2>"]},
        )
    client = _client(alpha, "HR")
    page = _text(client.get(f"/generate/{generation.id}"))
    assert "<h1>Generation</h1>" in page
    assert "3 of 3 employees" in page
    assert "<dt>Suggestions created</dt><dd>12</dd>" in page
    assert 'href="/suggestions?date_from=2026-03-02&amp;date_to=2026-03-06">Review the suggestions</a>' in page
    assert 'href="/generate">Back to generation</a>' in page
    fragment = _text(client.get(f"/jira/sync/{sync.id}/progress"))
    assert "<dt>Work logs added or updated</dt><dd>7</dd>" in fragment
    assert "Jira authors not matched to an employee: ghost-1, &lt;ghost-2&gt;" in fragment
    assert "Review the suggestions" not in fragment
    assert 'href="/jira">Back to Jira</a>' in fragment


def test_bad_review_input_is_a_message_never_a_server_error(alpha: TenantHandle) -> None:
    client = _client(alpha, "HR")
    assert client.get("/suggestions?confidence_below=abc&date_from=nope&employee=1").status_code == 200
    response = client.post("/suggestions/decide", {"action": "accept", "ids": ["not-a-uuid"]}, follow=True)
    assert response.status_code == 200
    assert "nothing was changed" in _text(response)
    response = client.post("/suggestions/decide", {"action": "accept"}, follow=True)
    assert "Select at least one suggestion first." in _text(response)
    assert client.get("/timesheets?week=2026-W99").status_code == 200


def test_generation_for_some_people_names_them_by_email_or_name_instead_of_a_select(alpha: TenantHandle) -> None:
    ada = make_employee(alpha, name="Ada Lovelace", email="ada@alpha.test")
    grace = make_employee(alpha, name="Grace Hopper", email="grace@alpha.test")
    make_employee(alpha, name="Alan Fischer", email="alan1@alpha.test")
    make_employee(alpha, name="Alan Fischer", email="alan2@alpha.test")
    client = _client(alpha, "HR")
    page = _text(client.get("/generate"))
    assert '<textarea name="employees"' in page
    assert "Ada Lovelace" not in page  # no list of every name on the page
    refused = _text(
        client.post("/generate", {"start_date": "2026-03-02", "end_date": "2026-03-06", "employees": "Alan Fischer"})
    )
    assert "More than one employee is called" in refused
    client.post(
        "/generate",
        {"start_date": "2026-03-02", "end_date": "2026-03-06", "employees": "ada@alpha.test\nGrace Hopper"},
    )
    with tenant_context(alpha.tenant):
        job = BackgroundJob.objects.get(job_type="timesheet_generation")
    assert sorted(job.parameters["employee_ids"]) == sorted([str(ada.id), str(grace.id)])
