"""The web UI in a real browser (Debian's Chromium through Playwright) against a live server and a real worker."""

from __future__ import annotations

import csv
import io
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django_tenants.utils import tenant_context

from hrms.celery import app
from tests.conftest import TenantHandle
from tests.intelligence.builders import build_world
from tests.ui.conftest import LiveSite, log_in
from tests.ui.seed import LOW, employee_named, review_week, this_monday, user_with_role
from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation

pytestmark = pytest.mark.slow


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_hr_starts_a_generation_and_watches_its_progress_bar_reach_100_then_the_summary(
    site: TenantHandle, live_site: LiveSite, page: Any, context: Any
) -> None:
    with tenant_context(site.tenant):
        world = build_world(employees=6, days=5, start=this_monday(site))
    hr = user_with_role(site, _unique("hr"), "HR")
    log_in(page, live_site, site, hr.username)

    page.goto(live_site.url(site, "/generate"))
    page.locator("#id_start_date").fill(world.start.isoformat())
    page.locator("#id_end_date").fill(world.end.isoformat())
    page.get_by_label("Auto-accept suggestions at or above the tenant's confidence threshold").check()
    page.get_by_role("button", name="Start generation").click()
    # No worker yet: the job waits in the queue, and the page says so.
    page.wait_for_url("**/generate/*")
    assert page.locator("#job-status").inner_text() == "Queued"
    assert page.locator("#job-bar").get_attribute("value") == "0"
    assert "Generation queued" in page.locator(".messages").inner_text()

    # While it is queued, the generation page shows it instead of a second form.
    other = context.new_page()
    other.goto(live_site.url(site, "/generate"))
    assert "already running" in other.locator(".msg-warning").inner_text()
    assert other.get_by_role("button", name="Start generation").count() == 0
    other.close()

    # The page is never reloaded from here on: htmx swaps the progress fragment in as the worker moves the job.
    page.evaluate("window.__same_page = true")
    seen: list[int] = []
    with start_worker(app, perform_ping_check=False, pool="solo", queues=["celery", "generation"], loglevel="WARNING"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen.append(int(page.locator("#job-bar").get_attribute("value") or 0))
            if page.locator("#job-progress").get_attribute("data-status") in ("succeeded", "failed"):
                break
            page.wait_for_timeout(150)
    assert page.locator("#job-status").inner_text() == "Succeeded"
    assert page.locator("#job-busy").count() == 0  # the "already running" warning went with the job
    assert page.locator("#job-bar").get_attribute("value") == "100"
    assert page.locator("#job-percent").inner_text() == "100%"
    assert page.evaluate("window.__same_page") is True
    assert seen[0] == 0
    assert seen == sorted(seen)
    summary = page.locator("#job-summary").inner_text()
    with tenant_context(site.tenant):
        created = ProjectAllocationSuggestion.objects.count()
        auto = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.AUTO_ACCEPTED).count()
    assert created > 0
    assert f"Suggestions created\n{created}" in summary
    assert f"Auto-accepted\n{auto}" in summary
    assert "Employee-days with attendance\n30" in summary
    page.get_by_role("link", name="Review the suggestions").click()
    assert page.locator("h1").inner_text() == "Review suggestions"


def test_hr_filters_to_low_confidence_bulk_accepts_and_the_grid_and_csv_show_the_rows(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    week = review_week(site)
    ada = week.employees[0]
    hr = user_with_role(site, _unique("hr"), "HR")
    log_in(page, live_site, site, hr.username)

    grid_url = live_site.url(site, f"/timesheets?employee={ada.id}&week={week.iso_week}")
    page.goto(grid_url)
    assert page.locator("#week-allocated").inner_text() == "0"
    assert page.locator("#week-attended").inner_text() == "40"
    assert page.locator("#week-gap").inner_text() == "40"

    page.goto(live_site.url(site, "/suggestions"))
    rows = page.locator("tr.suggestion")
    assert rows.count() == 20
    # Least confident first: the doubtful ones lead the list.
    assert [float(c) for c in rows.evaluate_all("rs => rs.map(r => r.dataset.confidence)")][:10] == [0.45] * 10

    page.get_by_role("link", name="Doubtful (below 60 %)").click()
    page.wait_for_function("document.querySelectorAll('tr.suggestion').length === 10")
    confidences = {Decimal(c) for c in rows.evaluate_all("rs => rs.map(r => r.dataset.confidence)")}
    assert confidences == {LOW}
    page.get_by_label("Select all shown suggestions").check()
    assert page.locator("#selection-count").inner_text() == "10 of 10 selected"
    page.get_by_role("button", name="Accept selected").click()
    assert "Accepted 10 suggestions." in page.locator(".messages").inner_text()
    page.wait_for_selector("#no-suggestions")  # back on the same filter: nothing below 60 % is pending any more

    page.goto(grid_url)
    low_week = week.low_hours * 5
    assert Decimal(page.locator("#week-allocated").inner_text()) == low_week
    assert Decimal(page.locator("#week-gap").inner_text()) == 40 - low_week
    apollo = page.locator("tr.project-row", has_text="APOLLO")
    assert [Decimal(text) for text in apollo.locator("td").all_inner_texts()[:5]] == [week.low_hours] * 5
    assert page.locator("tr.project-row", has_text="HERMES").count() == 0

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    path = download_info.value.path()
    with open(path, newline="") as handle:
        exported = list(csv.DictReader(io.StringIO(handle.read())))
    assert sorted(row["date"] for row in exported) == [day.isoformat() for day in week.days]
    assert {(row["employee_name"], row["project_code"], Decimal(row["hours"])) for row in exported} == {
        (ada.name, "APOLLO", week.low_hours)
    }
    with tenant_context(site.tenant):
        assert TimesheetProjectAllocation.objects.count() == 10


def test_an_employee_sees_and_decides_only_their_own_suggestions(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    week = review_week(site, names=("Ada Lovelace", "Grace Hopper"))
    login = user_with_role(site, _unique("ada"), "Employee")
    with tenant_context(site.tenant):
        ada = week.employees[0]
        ada.user = login
        ada.save(update_fields=["user"])
    log_in(page, live_site, site, login.username)

    page.goto(live_site.url(site, "/suggestions"))
    rows = page.locator("tr.suggestion")
    assert rows.count() == 10
    assert "Ada Lovelace" in page.locator("#results").inner_text()
    assert "Grace Hopper" not in page.content()
    assert page.get_by_label("Employee").count() == 0  # no employee filter: there is only one

    page.goto(live_site.url(site, "/my-week"))
    assert page.locator("tr.suggestion").count() == 10
    page.locator("tr.suggestion").first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Accept selected").click()
    assert "Accepted 1 suggestion." in page.locator(".messages").inner_text()
    assert page.locator("tr.suggestion").count() == 9
    assert Decimal(page.locator("#week-allocated").inner_text()) == week.low_hours

    page.goto(live_site.url(site, "/employees"))
    assert page.locator("tbody tr").all_inner_texts()[0].startswith("Ada Lovelace")
    assert page.locator("tbody tr").count() == 1
    assert page.locator(".pii-masked").count() == 3
    assert page.get_by_role("button", name="Reveal", exact=False).count() == 0
    page.goto(live_site.url(site, "/generate"))
    assert "needs the HR or Admin role" in page.locator(".messages").inner_text()
    with tenant_context(site.tenant):
        decided = ProjectAllocationSuggestion.objects.exclude(status=SuggestionStatus.PENDING)
        assert list(decided.values_list("employee_id", flat=True)) == [ada.id]


def test_an_hr_user_of_one_tenant_opening_another_tenants_host_lands_on_its_login_page(
    site: TenantHandle, tenants: dict[str, TenantHandle], live_site: LiveSite, page: Any
) -> None:
    hr = user_with_role(site, _unique("hr"), "HR")
    log_in(page, live_site, site, hr.username)
    assert page.locator(".tenant").inner_text() == site.tenant.name

    beta = tenants["beta"]
    page.goto(live_site.url(beta, "/suggestions"))
    assert page.url == live_site.url(beta, "/login?next=/suggestions")
    assert page.locator("#login-title").inner_text() == "Log in"
    assert f"to {beta.tenant.name}" in page.locator(".login-card").inner_text()
    # The credentials of the first tenant do not exist in the second.
    page.get_by_label("Username (e-mail)").fill(hr.username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    assert "didn't match" in page.locator("[role=alert]").inner_text()
    # The first tenant's session is untouched.
    page.goto(live_site.url(site, "/"))
    assert page.locator("h1").inner_text() == "Dashboard"


def test_review_and_employee_forms_work_as_plain_posts_with_javascript_off(
    site: TenantHandle, live_site: LiveSite, browser: Any
) -> None:
    week = review_week(site, names=("Ada Lovelace",))
    hr = user_with_role(site, _unique("hr"), "HR")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_site, site, hr.username)
        page.goto(live_site.url(site, "/suggestions"))
        page.get_by_label("Confidence at least (%)").fill("60")
        page.get_by_role("button", name="Apply filters").click()
        assert page.locator("tr.suggestion").count() == 5
        page.get_by_role("button", name="Accept the 5 shown (least confident first)").click()
        assert "Accepted 5 suggestions." in page.locator(".messages").inner_text()
        assert "min_confidence=60" in page.url

        page.goto(live_site.url(site, "/employees/new"))
        page.get_by_label("Name").fill("Katherine Johnson")
        page.get_by_label("E-mail").fill("not-an-email")
        page.get_by_role("button", name="Create employee").click()
        assert "Enter a valid email address." in page.locator(".field.has-error").inner_text()
        page.get_by_label("E-mail").fill("katherine@acme.example")
        page.get_by_label("National id").fill("NI-4471")
        page.get_by_role("button", name="Create employee").click()
        assert "Employee Katherine Johnson created." in page.locator(".messages").inner_text()
        row = page.locator("tr", has_text="Katherine Johnson")
        assert "NI-4471" not in row.inner_text()  # masked in the list until revealed on purpose
        page.get_by_role("button", name="Reveal the national id of Katherine Johnson").click()
        assert "NI-4471" in page.locator("tr", has_text="Katherine Johnson").inner_text()
    finally:
        context.close()
    with tenant_context(site.tenant):
        assert TimesheetProjectAllocation.objects.filter(project=week.projects[1]).count() == 5


def test_every_form_control_on_the_main_pages_has_an_accessible_name(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    review_week(site, names=("Ada Lovelace",))
    employee_named(site, "Grace Hopper")
    admin = user_with_role(site, _unique("admin"), "Admin")
    log_in(page, live_site, site, admin.username)
    unnamed_script = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !(el.tagName === 'BUTTON' && el.innerText.trim()))
        .map(el => el.outerHTML.slice(0, 120))"""
    for path in (
        "/",
        "/suggestions",
        "/generate",
        "/timesheets",
        "/my-week",
        "/employees",
        "/employees/new",
        "/projects",
        "/projects/new",
        "/jira",
        "/model",
        "/audit",
    ):
        page.goto(live_site.url(site, path))
        assert page.evaluate(unnamed_script) == [], path
        assert page.locator("h1").count() == 1, path
    # The first Tab stop is the skip link, and it leads to the main content.
    page.goto(live_site.url(site, "/suggestions"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
