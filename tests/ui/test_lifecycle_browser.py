"""The timesheet lifecycle in a real browser: an employee corrects and submits a week, HR rejects it with a
comment, the employee fixes and resubmits, HR approves it, closes the pay period and downloads the payroll
export; afterwards every attempt to change the closed period, in the UI and through the API, is refused."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle, token_for
from tests.timesheets.factories import auth, make_allocation, make_attendance, make_project
from tests.ui.conftest import PHONE, LiveSite, log_in
from tests.ui.seed import employee_named, user_with_role
from timesheets.models import PayPeriod, TimesheetProjectAllocation, TimesheetWeek

pytestmark = pytest.mark.slow

MONDAY = date(2026, 3, 2)
FRIDAY = MONDAY + timedelta(days=4)
_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def _messages(page: Any) -> str:
    return str(page.locator(".messages").inner_text())


def _friday(page: Any) -> Any:
    return page.locator(f"#day-{FRIDAY.isoformat()}")


def test_a_week_goes_from_correction_to_payroll_and_the_closed_period_refuses_every_change(
    site: TenantHandle, live_site: LiveSite, browser: Any, tmp_path: Path
) -> None:
    apollo, gemini = make_project(site, code="APOLLO"), make_project(site, code="GEMINI")
    suffix = uuid.uuid4().hex[:6]
    ann_user = user_with_role(site, f"ann-{suffix}", "Employee")
    ann = employee_named(site, "Ann Lifecycle", user=ann_user)
    hr = user_with_role(site, f"hr-{suffix}", "HR")
    for offset in range(5):
        make_attendance(site, ann, day=MONDAY + timedelta(days=offset), hours=8)
        make_allocation(site, ann, apollo, day=MONDAY + timedelta(days=offset), hours="8.00" if offset < 4 else "6.00")

    employee_view = browser.new_context(accept_downloads=True)
    hr_view = browser.new_context(accept_downloads=True)
    employee_page, hr_page = employee_view.new_page(), hr_view.new_page()
    for page in (employee_page, hr_page):
        page.set_default_timeout(10_000)
    log_in(employee_page, live_site, site, ann_user.username)
    log_in(hr_page, live_site, site, hr.username)
    my_week = live_site.url(site, f"/my-week?week={MONDAY.isoformat()}")
    hr_week = live_site.url(site, f"/timesheets?employee={ann.id}&week={MONDAY.isoformat()}")

    # 1. Ann submits: refused, Friday is 2 h short. She adds 2 h on GEMINI and submits.
    employee_page.goto(my_week)
    employee_page.locator("#week-submit").click()
    assert "not fully allocated" in _messages(employee_page)
    assert "2026-03-06: 6.00 of 8.00 h" in _messages(employee_page)
    friday = _friday(employee_page)
    friday.get_by_label("Add a project").first.select_option(label="GEMINI · " + gemini.name)
    friday.get_by_label("Hours").nth(1).fill("2")
    friday.get_by_role("button", name="Save Fri 6 Mar").click()
    assert "8.00 h allocated" in _messages(employee_page)
    employee_page.locator("#week-submit").click()
    assert "Week submitted for approval." in _messages(employee_page)
    assert employee_page.locator("#week-status").inner_text() == "submitted"

    # 2. HR rejects it with a comment.
    hr_page.goto(hr_week)
    hr_page.get_by_label("Comment (required to reject)").fill("Friday was all APOLLO")
    hr_page.locator("#week-reject").click()
    assert "returned with your comment" in _messages(hr_page)

    # 3. Ann sees the comment, fixes Friday (GEMINI removed, APOLLO 8 h) and resubmits.
    employee_page.goto(my_week)
    assert employee_page.locator("#week-status").inner_text() == "rejected"
    assert "Friday was all APOLLO" in employee_page.locator("#week-comment").inner_text()
    friday = _friday(employee_page)
    friday.evaluate("element => { element.open = true; }")
    hours = friday.locator("input[name=hours]")
    hours.nth(0).fill("8")  # APOLLO (rows are ordered by project code)
    hours.nth(1).fill("")  # GEMINI: an empty row is removed
    friday.get_by_role("button", name="Save Fri 6 Mar").click()
    employee_page.locator("#week-submit").click()
    assert "Week submitted for approval." in _messages(employee_page)

    # 4. HR approves it from the approval queue, closes March and downloads the payroll export.
    hr_page.goto(live_site.url(site, "/weeks"))
    hr_page.get_by_label(f"Choose Ann Lifecycle, week of {MONDAY.isoformat()}").check()
    hr_page.locator("#weeks-approve").click()
    assert "1 week(s) approved" in _messages(hr_page)
    hr_page.goto(live_site.url(site, "/pay-periods"))
    hr_page.locator("#period-2026-03-01 .close-period").click()
    assert "Pay period 2026-03-01 to 2026-03-31 closed." in _messages(hr_page)
    with hr_page.expect_download() as download_info:
        hr_page.locator("#period-2026-03-01 .payroll-csv").click()
    target = tmp_path / "payroll.csv"
    download_info.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(row["line"], row["project_code"], row["hours"]) for row in rows] == [
        ("project", "APOLLO", "40.00"),
        ("total", "", "40.00"),
    ]

    # 5. Every attempt to change the closed period is refused.
    hr_page.goto(hr_week)
    assert hr_page.locator("form[action='/timesheets/day']").count() == 0
    assert hr_page.locator(".day-editor", has_text="pay period closed").count() == 7
    hr_page.get_by_label("Reason to reopen").fill("Late correction")
    hr_page.locator("#week-reopen").click()
    assert "is closed" in _messages(hr_page)
    employee_page.goto(my_week)
    assert employee_page.locator("form[action='/timesheets/day']").count() == 0
    assert employee_page.locator("#week-submit").count() == 0

    client = site.client()
    token = auth(token_for(site, hr))
    row = {"employee": str(ann.id), "project": str(gemini.id), "date": FRIDAY.isoformat(), "hours": "1"}
    attempts = [
        client.post("/api/allocations", [row], content_type="application/json", **token),
        client.put(
            f"/api/timesheets/{ann.id}/day",
            {"date": FRIDAY.isoformat(), "allocations": []},
            content_type="application/json",
            **token,
        ),
    ]
    with tenant_context(site.tenant):
        week = TimesheetWeek.objects.get(employee=ann)
        period = PayPeriod.objects.get()
    attempts.append(
        client.post(f"/api/weeks/{week.id}/reopen", {"reason": "x"}, content_type="application/json", **token)
    )
    for response in attempts:
        assert response.status_code == 409, response.content
        assert response.json()["error"]["code"] == "period_locked"
        assert response.json()["error"]["period"]["id"] == str(period.id)
    # A forged form post from the page is refused as well.
    form = f"employee={ann.id}&date={FRIDAY.isoformat()}&project={gemini.id}&hours=1"
    status = employee_page.evaluate(
        "async ([body, token]) => (await fetch('/timesheets/day', {method: 'POST', body, headers: "
        "{'X-CSRFToken': token, 'Content-Type': 'application/x-www-form-urlencoded'}})).status",
        [form, _csrf(employee_view)],
    )
    assert status == 200  # back on the week page, with the refusal as its message
    with tenant_context(site.tenant):
        assert TimesheetProjectAllocation.objects.filter(employee=ann).count() == 5
        assert (
            sum((a.hours or Decimal(0) for a in TimesheetProjectAllocation.objects.filter(employee=ann)), Decimal(0))
            == 40
        )

    for page, path in (
        (hr_page, "/pay-periods"),
        (hr_page, "/weeks"),
        (hr_page, f"/timesheets?employee={ann.id}&week={MONDAY.isoformat()}"),
        (employee_page, "/unallocated"),
        (employee_page, "/my-week?week=2026-04-06"),  # an open period: the day editors are shown
    ):
        page.set_viewport_size(PHONE)
        page.goto(live_site.url(site, path))
        assert page.evaluate(_OVERFLOW) <= 0, path
    employee_view.close()
    hr_view.close()


def _csrf(context: Any) -> str:
    return next(str(cookie["value"]) for cookie in context.cookies() if cookie["name"] == "csrftoken")
