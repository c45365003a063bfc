"""Tenant settings (Admin): read, change with clear errors, audited, seen by the next request; B never changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tenants.models import Tenant
from tests.conftest import TenantHandle, make_user, token_for
from tests.timesheets.factories import auth

PATH = "/api/tenant/settings"


@pytest.fixture
def admin(alpha: TenantHandle) -> str:
    return token_for(alpha, make_user(alpha, "settings-admin@alpha.test", "Admin"))


def _patch(handle: TenantHandle, token: str, body: Any) -> Any:
    return handle.client().patch(PATH, body, "application/json", **auth(token))


def test_an_admin_reads_and_changes_the_settings(
    alpha: TenantHandle, beta: TenantHandle, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
    assert alpha.client().get(PATH, **auth(admin)).json() == {
        "name": "Alpha Ltd",
        "timezone": "UTC",
        "locale": "en-GB",
        "work_week": [0, 1, 2, 3, 4],
        "suggestion_granularity": "0.25",
        "auto_accept_threshold": "0.90",
        "ml_rate_limit_per_minute": 100,
        "require_admin_two_step": False,
    }
    body = {
        "name": "Alpha Group",
        "timezone": "Europe/Berlin",
        "locale": "de-DE",
        "work_week": [4, 0, 1, 2, 3, 5],
        "suggestion_granularity": "0.5",
        "auto_accept_threshold": "0.75",
        "ml_rate_limit_per_minute": 40,
        "require_admin_two_step": True,
    }
    response = _patch(alpha, admin, body)
    assert response.status_code == 200, response.content
    assert response.json() == {**body, "work_week": [0, 1, 2, 3, 4, 5]}
    # The next request resolves the tenant again: it sees the new values (the lookup caches were forgotten).
    assert alpha.client().get(PATH, **auth(admin)).json()["timezone"] == "Europe/Berlin"
    with tenant_context(alpha.tenant):
        [event] = AuditEvent.objects.filter(action="tenant.settings_update").values_list("data", flat=True)
    assert set(event) == set(body)
    beta_tenant = Tenant.objects.get(slug="beta")
    assert (beta_tenant.name, beta_tenant.timezone, beta_tenant.auto_accept_threshold) == (
        "Beta Ltd",
        "UTC",
        Decimal("0.90"),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"locale": "de"}, "locale"),
        ({"work_week": [1, 1]}, "work_week"),
        ({"work_week": []}, "work_week"),
        ({"work_week": [7]}, "work_week"),
        ({"suggestion_granularity": "0.3"}, "suggestion_granularity"),
        ({"auto_accept_threshold": "1.5"}, "auto_accept_threshold"),
        ({"ml_rate_limit_per_minute": 0}, "ml_rate_limit_per_minute"),
        ({"name": "   "}, "name"),
        ({"require_admin_two_step": "yes"}, "require_admin_two_step"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field(alpha: TenantHandle, admin: str, body: Any, field: str) -> None:
    response = _patch(alpha, admin, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_hr_may_not_change_the_settings(alpha: TenantHandle) -> None:
    hr = token_for(alpha, make_user(alpha, "settings-hr@alpha.test", "HR"))
    assert _patch(alpha, hr, {"name": "Nope"}).status_code == 403
    assert alpha.client().get(PATH, **auth(hr)).status_code == 403


def test_the_settings_page_saves_for_an_admin(alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
    make_user(alpha, "page-admin@alpha.test", "Admin")
    client = alpha.client()
    assert (
        client.post("/login", {"username": "page-admin@alpha.test", "password": "correct-horse-battery"}).status_code
        == 302
    )
    form = {
        "name": "Alpha Page",
        "timezone": "Europe/Paris",
        "locale": "fr-FR",
        "work_week": ["0", "1", "2", "3"],
        "suggestion_granularity": "1",
        "auto_accept_threshold": "0.8",
        "ml_rate_limit_per_minute": "50",
    }
    assert client.post("/settings", form)["Location"] == "/settings"
    assert "Alpha Page" in client.get("/settings").content.decode()
    assert Tenant.objects.get(slug="alpha").locale == "fr-FR"
    bad = client.post("/settings", {**form, "auto_accept_threshold": "2"})
    assert bad.status_code == 200
    assert "Ensure this value is less than or equal to 1" in bad.content.decode()
