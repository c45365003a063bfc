"""The review screen's core tasks, counted in clicks, on a laptop and on a phone; and its safety rules.

- Accept every confident suggestion of this week: at most 3 clicks, one of them a confirmation; undo puts it back.
- Correct one suggestion with its day total in sight: at most 2 clicks.
- Enter in an hours box decides nothing; an invalid filter shows an error and no rows; typed hours survive an error.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.ui.conftest import LAPTOP, PHONE, LiveSite, log_in
from tests.ui.seed import HIGH, LOW, Week, review_week, user_with_role
from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation

pytestmark = pytest.mark.slow


class Clicks:
    """Counts the clicks a task takes; typing is not a click."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, locator: Any) -> None:
        self.count += 1
        locator.click()


def _statuses(handle: TenantHandle) -> dict[str, int]:
    with tenant_context(handle.tenant):
        rows = ProjectAllocationSuggestion.objects.values_list("status", "confidence")
        counts: dict[str, int] = {}
        for status, confidence in rows:
            key = f"{status}:{'high' if confidence >= HIGH else 'low'}"
            counts[key] = counts.get(key, 0) + 1
        return counts


def _last_week_confident(handle: TenantHandle, week: Week) -> ProjectAllocationSuggestion:
    """A confident suggestion of last week: "this week" must leave it alone."""
    with tenant_context(handle.tenant):
        day = week.monday - timedelta(days=7)
        return ProjectAllocationSuggestion.objects.create(
            employee=week.employees[0],
            project=week.projects[1],
            date=day,
            hours=Decimal(3),
            confidence=Decimal("0.990"),
            explanation="last week",
            expiry_date=day + timedelta(days=60),
        )


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_confident_suggestion_of_this_week_is_accepted_in_three_clicks_and_undone_in_one(
    site: TenantHandle, live_site: LiveSite, page: Any, viewport: dict[str, int]
) -> None:
    week = review_week(site)
    earlier = _last_week_confident(site, week)
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    page.set_viewport_size(viewport)
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/suggestions"))
    click = Clicks()

    click(page.locator("#quick-week"))
    summary = page.locator("#filter-summary").inner_text()
    assert f"{week.monday:%a} {week.monday.day} {week.monday:%b %Y}" in summary  # the default locale, en-GB
    assert page.locator("#confident-count").inner_text() == "10"
    click(page.locator("#accept-confident"))
    confirm = page.locator("#confirm-summary").inner_text()
    assert "accepts 10 pending suggestions" in confirm
    assert f"{week.high_hours * 10:.2f} h" in confirm
    click(page.locator("#confirm-accept"))
    assert click.count <= 3
    assert "Accepted 10 suggestions (30.00 h)." in page.locator(".messages").inner_text()

    assert _statuses(site) == {"accepted:high": 10, "pending:low": 10, "pending:high": 1}
    with tenant_context(site.tenant):
        assert ProjectAllocationSuggestion.objects.get(id=earlier.id).status == SuggestionStatus.PENDING
        assert TimesheetProjectAllocation.objects.count() == 10
        assert {a.hours for a in TimesheetProjectAllocation.objects.all()} == {week.high_hours}

    page.locator("#undo-batch").click()
    assert "Undone: 10 suggestions are pending again." in page.locator(".messages").inner_text()
    assert _statuses(site) == {"pending:high": 11, "pending:low": 10}
    with tenant_context(site.tenant):
        assert TimesheetProjectAllocation.objects.count() == 0


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_one_suggestion_is_corrected_with_its_day_total_in_sight_in_two_clicks(
    site: TenantHandle, live_site: LiveSite, page: Any, viewport: dict[str, int]
) -> None:
    week = review_week(site, names=("Ada Lovelace",))
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    page.set_viewport_size(viewport)
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/suggestions"))
    click = Clicks()

    with tenant_context(site.tenant):
        target = ProjectAllocationSuggestion.objects.filter(confidence=LOW).order_by("date").first()
    assert target is not None
    row = page.locator(f"#row-{target.id}")
    day = row.locator(".day").inner_text()
    # The day around the row: attended hours, the other share of the day, and the total against attendance.
    assert "Attended 8.00 h" in day
    assert f"HERMES {week.high_hours:.2f} h" in day
    assert f"Day total {week.low_hours + week.high_hours:.2f} h" in day
    row.locator(".hours-input").fill("4.5")
    assert row.locator("input[name=ids]").is_checked()  # typing ticked the row
    click(row.get_by_role("button", name="Accept", exact=False).first)
    assert click.count <= 2
    assert "Accepted 1 suggestion." in page.locator(".messages").inner_text()
    with tenant_context(site.tenant):
        allocation = TimesheetProjectAllocation.objects.get()
        assert (allocation.suggestion_id, allocation.hours) == (target.id, Decimal("4.50"))
        assert ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING).count() == 9


def test_enter_in_an_hours_box_decides_nothing_and_typed_hours_survive_an_error(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    review_week(site, names=("Ada Lovelace",))
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/suggestions"))
    rows = page.locator("tr.suggestion")
    rows.nth(0).locator("input[name=ids]").check()
    rows.nth(1).locator("input[name=ids]").check()
    box = rows.nth(2).locator(".hours-input")
    box.fill("2.5")
    url = page.url
    box.press("Enter")
    page.wait_for_timeout(500)
    assert page.url == url
    assert _statuses(site) == {"pending:low": 5, "pending:high": 5}

    box.fill("two")
    rows.nth(2).get_by_role("button", name="Accept", exact=False).first.click()
    assert "Hours must be a number" in page.locator(".messages").inner_text()
    assert page.locator("tr.suggestion").nth(2).locator(".hours-input").input_value() == "two"
    assert _statuses(site) == {"pending:low": 5, "pending:high": 5}


def test_an_invalid_filter_shows_its_error_and_no_rows(site: TenantHandle, live_site: LiveSite, page: Any) -> None:
    review_week(site, names=("Ada Lovelace",))
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/suggestions?date_from=2026-03-09&date_to=2026-03-02"))
    assert page.locator("#filter-error").is_visible()
    assert "Must not be before the start date." in page.locator(".has-error").inner_text()
    assert page.locator("tr.suggestion").count() == 0
    assert page.locator("#accept-confident").count() == 0
    assert "No suggestions are listed while a filter is invalid." in page.locator("#no-suggestions").inner_text()
    # Garbage typed into the URL is no better than a wrong order of dates.
    page.goto(live_site.url(site, "/suggestions?min_confidence=abc"))
    assert page.locator("tr.suggestion").count() == 0
    assert page.locator("#filter-error").is_visible()


def test_the_bulk_buttons_say_what_they_act_on(site: TenantHandle, live_site: LiveSite, page: Any) -> None:
    review_week(site, names=("Ada Lovelace",))
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/suggestions"))
    bar = page.locator(".bulkbar").inner_text()
    assert "sorted least confident first" in bar
    assert "Accept the 10 shown (least confident first)" in bar
    assert "Filters: all employees · all projects · all dates" in bar
    assert "at or above 90 %" in page.locator(".confident").inner_text()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_days_needing_attention_are_one_click_from_the_dashboard(
    site: TenantHandle, live_site: LiveSite, page: Any, viewport: dict[str, int]
) -> None:
    week = review_week(site, names=("Ada Lovelace",))
    with tenant_context(site.tenant):
        # Ada's Monday: the doubtful suggestion is rejected, so 5 of 8 attended hours are left without a home.
        ProjectAllocationSuggestion.objects.filter(date=week.monday, confidence=LOW).update(
            status=SuggestionStatus.REJECTED
        )
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    page.set_viewport_size(viewport)
    log_in(page, live_site, site, hr.username)
    click = Clicks()
    click(page.locator("#attention-link"))
    assert click.count <= 2
    assert page.locator("h1").inner_text() == "Days needing attention"
    row = page.locator("#attention tbody tr", has_text=f"{week.monday:%a} {week.monday.day} {week.monday:%b %Y}")
    assert "Less allocated than attended" in row.inner_text()
