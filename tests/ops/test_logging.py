"""Structured logs: one JSON line per request with its ids, the request id inside Celery tasks, no PII."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django_otp.oath import TOTP
from django_tenants.utils import tenant_context

from accounts.services.two_step import two_step_confirm
from core.errors import ApplicationError
from hrms.celery import app
from hrms.logging import ContextFilter, JsonFormatter, RedactingFilter
from hrms.request_context import RequestObservabilityMiddleware
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.timesheets.factories import auth, staff_token

task_logger = logging.getLogger("tests.ops.task")


@app.task(name="tests.ops.log_a_line")  # type: ignore[untyped-decorator]
def log_a_line_task(marker: str) -> None:
    task_logger.info("task ran %s", marker)


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


@contextmanager
def capturing_logs(logger: logging.Logger | None = None) -> Iterator[Captured]:
    """Every log record of `logger` (default: all, from the root), at every level, through the production
    formatter and filters."""
    capture = Captured()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    root = logger or logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def captured() -> Iterator[Captured]:
    with capturing_logs() as capture:
        yield capture


def test_each_request_writes_one_json_line_with_its_ids_route_status_and_duration(
    alpha: TenantHandle, captured: Captured
) -> None:
    user = make_user(alpha, f"hr-log-{uuid.uuid4().hex[:6]}@alpha.test", "HR")
    token = token_for(alpha, user)
    response = alpha.client().get("/api/employees", HTTP_X_REQUEST_ID="req-abc-123", **auth(token))

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-abc-123"
    [line] = [entry for entry in captured.lines() if entry["logger"] == "hrms.request"]
    assert line["request_id"] == "req-abc-123"
    assert line["tenant"] == alpha.tenant.schema_name
    assert line["user_id"] == str(user.pk)
    assert line["route"] == "/api/employees"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO"


def test_it_makes_a_request_id_when_the_callers_is_missing_or_unsafe(alpha: TenantHandle) -> None:
    made = alpha.client().get("/healthz")
    assert len(made["X-Request-ID"]) == 32
    unsafe = alpha.client().get("/healthz", HTTP_X_REQUEST_ID='x"\n{"level":"forged"}')
    assert unsafe["X-Request-ID"] != 'x"\n{"level":"forged"}'
    assert len(unsafe["X-Request-ID"]) == 32


def _enqueueing_view(marker: str, handle: TenantHandle) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        with tenant_context(handle.tenant):
            log_a_line_task.delay(marker)
        return HttpResponse(status=202)

    return view


def test_the_request_id_travels_into_the_celery_tasks_the_request_enqueues(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    marker = uuid.uuid4().hex
    middleware = RequestObservabilityMiddleware(_enqueueing_view(marker, handle))
    with django_db_blocker.unblock():
        try:
            # The worker thread re-applies LOGGING (django.setup()) as it starts, which replaces the root logger's
            # handlers at a moment of its own: listen on the task's logger, which that leaves alone.
            with (
                start_worker(app, perform_ping_check=False, pool="solo", queues=["celery"], loglevel="WARNING"),
                capturing_logs(task_logger) as captured,
            ):
                response = middleware(RequestFactory().post("/enqueue", HTTP_X_REQUEST_ID="req-into-task-42"))
                assert response.status_code == 202
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and marker not in captured.text():
                    time.sleep(0.1)
        finally:
            connections.close_all()

    [task_line] = [entry for entry in captured.lines() if marker in entry["message"]]
    assert task_line["request_id"] == "req-into-task-42"
    assert task_line["tenant"] == handle.tenant.schema_name


SEEDED = {
    "name": "Grace Hopper",
    "email": "grace.hopper@alpha.test",
    "national_id": "NI-7734-55120",
    "bank_account": "GB29 NWBK 6016 1331 9268 19",
    "salary": "91234.56",
}


def test_logs_never_carry_seeded_national_ids_bank_accounts_tokens_or_passwords(
    alpha: TenantHandle, beta: TenantHandle, captured: Captured
) -> None:
    token = staff_token(alpha)
    other_tenants_token = staff_token(beta)
    client = alpha.client()
    created = client.post("/api/employees", SEEDED, content_type="application/json", **auth(token))
    assert created.status_code == 201, created.content
    employee_id = created.json()["id"]
    client.get(f"/api/employees/{employee_id}", **auth(token))
    client.get(f"/api/employees?national_id={SEEDED['national_id']}", **auth(token))
    client.patch(
        f"/api/employees/{employee_id}",
        {"bank_account": "NL91 ABNA 0417 1643 00", "national_id": "not valid \x00"},
        content_type="application/json",
        **auth(token),
    )
    client.post("/api/employees", {**SEEDED, "email": "bad"}, content_type="application/json", **auth(token))
    client.get("/api/employees", **auth(other_tenants_token))  # a credential of another tenant: 401
    client.post(
        "/api/auth/token", {"username": alpha.admin_email, "password": PASSWORD}, content_type="application/json"
    )
    wrong = {"username": alpha.admin_email, "password": "wrong"}
    client.post("/api/auth/token", wrong, content_type="application/json")
    # Second line of defence: code that logs a secret by mistake still writes it masked.
    logging.getLogger("tests.ops.careless").warning(
        "careless: token %s national_id=%s bank %s", token, SEEDED["national_id"], SEEDED["bank_account"]
    )

    text = captured.text()
    assert "hrms.request" in text
    assert "careless" in text
    for secret in (
        SEEDED["national_id"],
        SEEDED["bank_account"],
        SEEDED["bank_account"].replace(" ", ""),
        SEEDED["salary"],
        "NL91 ABNA 0417 1643 00",
        token,
        other_tenants_token,
        PASSWORD,
    ):
        assert secret not in text, f"{secret!r} leaked into the logs"


def test_logs_never_carry_a_second_factors_secret_or_its_recovery_codes(
    alpha: TenantHandle, captured: Captured
) -> None:
    user = make_user(alpha, "totp-logs@alpha.test", "Admin")
    client = alpha.client()
    assert client.post("/login", {"username": user.username, "password": PASSWORD}).status_code == 302
    client.post("/account/two-step", {"action": "start"})
    page = client.get("/account/two-step").content.decode()
    secret = page.split('id="two-step-secret">')[1].split("<")[0]
    key = base64.b32decode(secret)
    client.post("/account/two-step", {"action": "confirm", "code": "000000"})
    earlier = time.time() - 60
    with tenant_context(alpha.tenant):
        codes = two_step_confirm(user=user, code=_code_at(key, earlier), now=earlier)
    statuses = []
    for otp in (_code_at(key, time.time()), codes[0], codes[0], "not-a-code"):
        body = {"username": user.username, "password": PASSWORD, "otp": otp}
        statuses.append(client.post("/api/auth/token", body, content_type="application/json").status_code)
    assert statuses == [200, 200, 400, 400]
    fresh = alpha.client()
    assert fresh.post("/login", {"username": user.username, "password": PASSWORD})["Location"] == "/login/code"
    assert fresh.post("/login/code", {"code": codes[1]})["Location"] == "/"

    text = captured.text()
    assert "POST /api/auth/token" in text
    for leaked in (secret, key.hex(), *codes):
        assert leaked not in text, f"{leaked!r} leaked into the logs"


def _code_at(key: bytes, when: float) -> str:
    generator = TOTP(key)
    generator.time = when
    return f"{generator.token():06d}"


@pytest.mark.parametrize(
    ("leaky", "secret"),
    [
        ("Authorization: Token 0123456789abcdef0123456789abcdef01234567", "0123456789abcdef0123456789abcdef01234567"),
        ('{"password": "hunter2-long"}', "hunter2-long"),
        ("api_token=sk_live_abcdef", "sk_live_abcdef"),
        ("account DE89 3704 0044 0532 0130 00 rejected", "0532 0130"),
        ("national id 123456789012 not found", "123456789012"),
    ],
)
def test_the_redaction_filter_masks_secrets_in_messages(leaky: str, secret: str) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (leaky,), None)
    RedactingFilter().filter(record)
    assert secret not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_the_redaction_filter_keeps_dates_ids_and_durations_readable() -> None:
    message = "job 3f1c2a9e-0b1d-4c1e-9a55-123456789012 finished 2026-03-01 10:00:00 in 1234.5 ms"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)
    RedactingFilter().filter(record)
    assert record.getMessage() == message


@pytest.mark.parametrize(
    ("leaky", "secret"),
    [
        ("connecting with db_password=pg-hunter2-long", "pg-hunter2-long"),
        ("jira_api_token=atl-0123456789", "atl-0123456789"),
        ('{"jira_api_token": "atl-0123456789"}', "atl-0123456789"),
        ("x_secret=s3cr3t-value", "s3cr3t-value"),
        ("client_secret: 'oidc-secret-value'", "oidc-secret-value"),
        ("DATABASE_PASSWORD=pg-hunter2-long", "pg-hunter2-long"),
        ("aws_secret_access_key=AKIAexampleexample", "AKIAexampleexample"),
        ("secret_key=django-key-value", "django-key-value"),
        ("refresh_token=rt-value-123", "rt-value-123"),
        ("api_key=k-value-123", "k-value-123"),
        ("apiKey: k-value-123", "k-value-123"),
        ("private_key=-----BEGIN", "-----BEGIN"),
        ("passphrase=correct-horse", "correct-horse"),
        ("credentials=user:pw-123", "user:pw-123"),
        ("sessionid=abcdef0123", "abcdef0123"),
        ("cannot reach postgres://hrms:pg-hunter2@db:5432/hrms", "pg-hunter2"),
        ("broker redis://:redis-pass-1@redis:6379/1 down", "redis-pass-1"),
    ],
)
def test_the_redaction_filter_masks_prefixed_and_suffixed_secret_names(leaky: str, secret: str) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (leaky,), None)
    RedactingFilter().filter(record)
    assert secret not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_the_redaction_filter_masks_prefixed_names_in_extra_fields() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "configured", None, None)
    record.detail = "db_password=pg-hunter2-long"
    RedactingFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert "pg-hunter2-long" not in json.dumps(line)


def test_what_a_jira_site_answers_never_reaches_the_logs(
    alpha: TenantHandle, captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The site is the tenant admin's to choose: what answers there may be an internal service."""
    from jira_sync import client as client_module
    from jira_sync.models import JiraConnection
    from jira_sync.services.connection import jira_connection_save
    from jira_sync.services.sync import JOB_TYPE, jira_sync_run
    from jobs.services import job_create
    from tests.support.internal_service import SECRET_BODY, internal_service

    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)
    reason = "Not Found " + SECRET_BODY.upper()
    admin = make_user(alpha, f"admin-log-{uuid.uuid4().hex[:6]}@alpha.test", "Admin")
    for status in (404, 400, 500):
        with internal_service(status=status, reason=reason) as service, tenant_context(alpha.tenant):
            with pytest.raises(ApplicationError):
                jira_connection_save(actor=admin, site_url=service.url, email="bot@alpha.test", api_token="t")
            JiraConnection.objects.all().delete()
            JiraConnection.objects.create(site_url=service.url, email="bot@alpha.test", api_token="t")
            jira_sync_run(job_id=job_create(job_type=JOB_TYPE, parameters={}).id)
            assert service.requests
    text = captured.text()
    assert "jira" in text
    assert SECRET_BODY not in text
    assert SECRET_BODY.upper() not in text


def test_the_sso_client_secret_never_reaches_the_logs(alpha: TenantHandle, captured: Captured) -> None:
    """Configured through the API, used for sign-ins that succeed and fail (a wrong secret too): never logged."""
    from tests.accounts.test_sso import sign_in
    from tests.support.oidc_provider import DEFAULT_CLIENT_ID, OidcProvider

    secret = f"sso-client-secret-{uuid.uuid4().hex}"
    admin = token_for(alpha, make_user(alpha, f"sso-log-{uuid.uuid4().hex[:6]}@alpha.test", "Admin"))
    provider = OidcProvider().start()
    try:
        provider.add_client(client_secret=secret)
        provider.add_user("logged@alpha.test")
        provider.add_user("outsider@elsewhere.test")
        body = {
            "display_name": "Example ID",
            "issuer": provider.issuer,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": secret,
            "allowed_domains": ["alpha.test"],
            "default_role": "Employee",
        }
        client = alpha.client()
        saved = client.put("/api/sso/provider", body, content_type="application/json", **auth(admin))
        assert saved.status_code == 200, saved.content
        assert client.get("/api/sso/provider", **auth(admin)).status_code == 200
        assert sign_in(alpha, "logged@alpha.test")[1].status_code == 302
        assert sign_in(alpha, "outsider@elsewhere.test")[1].status_code == 403
        provider.clients[DEFAULT_CLIENT_ID].client_secret = "the-provider-now-expects-another"
        refused = sign_in(alpha, "logged@alpha.test")[1]
        assert refused.status_code == 302
        assert refused["Location"] == "/login"
    finally:
        provider.stop()
    text = captured.text()
    assert "hrms.request" in text
    assert "/sso/callback" in text
    assert secret not in text
