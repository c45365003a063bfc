"""Pages write dates and numbers in the tenant's locale; hours boxes take what it shows; the API does not change.

The locale is changed the way an Admin does it (the settings API), and the very same page is read under each.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.timesheets.factories import (
    auth,
    make_allocation,
    make_attendance,
    make_employee,
    make_project,
    make_suggestion,
)
from timesheets.models import ProjectAllocationSuggestion, TimesheetProjectAllocation
from timesheets.selectors import tenant_today
from timesheets.services import suggestions_cache_invalidate

THURSDAY = date(2026, 3, 5)


@pytest.fixture(autouse=True)
def _commit_hooks_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings change forgets the cached tenant lookups on commit; tests run inside one transaction.
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())


def _locale(handle: TenantHandle, locale: str) -> None:
    admin = token_for(handle, make_user(handle, f"admin-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", "Admin"))
    response = handle.client().patch("/api/tenant/settings", {"locale": locale}, "application/json", **auth(admin))
    assert response.status_code == 200, response.content
    assert response.json()["locale"] == locale


def _hr(handle: TenantHandle) -> Client:
    username = f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    make_user(handle, username, "HR")
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def _suggestion(handle: TenantHandle) -> ProjectAllocationSuggestion:
    lena = make_employee(handle, name="Lena Locale")
    make_attendance(handle, lena, day=THURSDAY, hours=8)
    suggestion = make_suggestion(
        handle,
        lena,
        make_project(handle, code="LOC"),
        day=THURSDAY,
        hours="1.50",
        confidence="0.925",
        expiry_date=date(2099, 1, 1),
    )
    with tenant_context(handle.tenant):
        suggestions_cache_invalidate()
    return suggestion


def _row(page: str, suggestion: ProjectAllocationSuggestion) -> str:
    return page.split(f'id="row-{suggestion.id}"')[1].split("</tr>")[0]


def _cell(row: str, label: str) -> str:
    match = re.search(rf'data-label="{label}">(.*?)</td>', row, re.S)
    assert match is not None, row
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.mark.parametrize(
    ("locale", "day", "hours", "attended"),
    [
        ("en-GB", "Thu 5 Mar 2026", "1.50", "Attended 8.00 h"),
        ("en-US", "Thu 03/05/2026", "1.50", "Attended 8.00 h"),
        ("de-DE", "Thu 05.03.2026", "1,50", "Attended 8,00 h"),
        ("fr-FR", "Thu 05/03/2026", "1,50", "Attended 8,00 h"),
        ("nl-NL", "Thu 05-03-2026", "1,50", "Attended 8,00 h"),
        ("es-ES", "Thu 05/03/2026", "1,50", "Attended 8,00 h"),
    ],
)
def test_the_review_page_writes_dates_and_hours_in_the_tenants_locale(
    alpha: TenantHandle, locale: str, day: str, hours: str, attended: str
) -> None:
    suggestion = _suggestion(alpha)
    _locale(alpha, locale)
    page = _hr(alpha).get("/suggestions").content.decode()
    row = _row(page, suggestion)
    assert _cell(row, "Date") == day
    assert f'name="hours-{suggestion.id}" id="hours-{suggestion.id}" value="{hours}"' in row
    assert attended in _cell(row, "The day")
    assert _cell(row, "Confidence").startswith("92 %")
    # A machine-read attribute stays a plain number in every locale.
    assert f'data-confidence="0.925" id="row-{suggestion.id}"' in page


def test_the_dashboard_total_and_the_confirmation_under_de_and_en_us(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        monday = tenant_today() - timedelta(days=tenant_today().weekday())
    lena, loc = make_employee(alpha, name="Lena Locale"), make_project(alpha, code="LOC")
    make_allocation(alpha, lena, loc, day=monday, hours="1.50")
    make_suggestion(
        alpha, lena, loc, day=monday + timedelta(days=1), hours="2.25", confidence="0.990", expiry_date=date(2099, 1, 1)
    )
    with tenant_context(alpha.tenant):
        suggestions_cache_invalidate()
    client = _hr(alpha)
    week = f"date_from={monday.isoformat()}&date_to={(monday + timedelta(days=6)).isoformat()}"
    pages = {}
    for locale in ("de-DE", "en-US"):
        _locale(alpha, locale)
        pages[locale] = (
            client.get("/").content.decode(),
            client.get(f"/suggestions/accept-confident?{week}&min_confidence=90").content.decode(),
        )
    dashboard, confirm = pages["de-DE"]
    assert "Total 1,50 h" in dashboard
    assert "<strong>2,25 h</strong>" in confirm
    assert f"{monday:%a} {monday:%d.%m.%Y} to" in confirm
    dashboard, confirm = pages["en-US"]
    assert "Total 1.50 h" in dashboard
    assert "<strong>2.25 h</strong>" in confirm
    assert f"{monday:%a} {monday:%m/%d/%Y} to" in confirm


@pytest.mark.parametrize("typed", ["1,75", "1.75", " 1,75 "])
def test_an_hours_box_takes_a_comma_or_a_point_under_de(alpha: TenantHandle, typed: str) -> None:
    suggestion = _suggestion(alpha)
    _locale(alpha, "de-DE")
    response = _hr(alpha).post(
        "/suggestions/decide", {"row": f"accept:{suggestion.id}", f"hours-{suggestion.id}": typed}, follow=True
    )
    assert response.status_code == 200
    with tenant_context(alpha.tenant):
        allocation = TimesheetProjectAllocation.objects.get(suggestion=suggestion)
    assert allocation.hours == Decimal("1.75")


def test_an_hours_box_refuses_a_figure_with_both_separators_and_keeps_it(alpha: TenantHandle) -> None:
    suggestion = _suggestion(alpha)
    _locale(alpha, "de-DE")
    response = _hr(alpha).post(
        "/suggestions/decide", {"row": f"accept:{suggestion.id}", f"hours-{suggestion.id}": "1.234,5"}, follow=True
    )
    page = response.content.decode()
    assert "Hours must be a number (you typed “1.234,5”)." in page
    assert 'value="1.234,5"' in _row(page, suggestion)
    with tenant_context(alpha.tenant):
        assert not TimesheetProjectAllocation.objects.filter(suggestion=suggestion).exists()


def test_the_api_keeps_iso_dates_and_plain_numbers_under_de(alpha: TenantHandle) -> None:
    suggestion = _suggestion(alpha)
    _locale(alpha, "de-DE")
    token = token_for(alpha, make_user(alpha, "hr-api@alpha.test", "HR"))
    body: Any = alpha.client().get("/api/timesheet-intelligence/suggestions/pending", **auth(token)).json()
    [item] = [row for row in body["results"] if row["id"] == str(suggestion.id)]
    assert (item["date"], item["hours"], item["confidence"]) == ("2026-03-05", "1.50", "0.925")


def test_an_unknown_locale_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    admin = token_for(alpha, make_user(alpha, "admin-bad@alpha.test", "Admin"))
    response = alpha.client().patch("/api/tenant/settings", {"locale": "xx-XX"}, "application/json", **auth(admin))
    assert response.status_code == 400
    assert "locale" in response.json()["error"]["fields"]
